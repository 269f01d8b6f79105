/**
 * Raw Kysely access to a store's database for backup and restore, which work below the Store
 * interface: they copy rows with their keys, versions and change sequences exactly as stored, which
 * no collection method would do (a create assigns a new version).
 */
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import type { StoreSchema } from '../schema.js';
import { WharfSqliteDialect } from '../sqlite/sqlite-dialect.js';
import type { MigrationDialect } from '../migrations/index.js';

/** Which database: the SQLite file of a home, or a PostgreSQL URL. */
export type StoreLocation = { backend: 'sqlite'; path: string } | { backend: 'postgres'; url: string };

/** An open raw database and how to close it. */
export interface RawDatabase {
  readonly db: Kysely<StoreSchema>;
  readonly dialect: MigrationDialect;
  close(): Promise<void>;
}

/** Opens the SQLite file at `path` (created when `create`), WAL mode as the store uses it. */
export function openRawSqlite(path: string, options: { create: boolean }): RawDatabase {
  const full = resolve(path);
  if (options.create) mkdirSync(dirname(full), { recursive: true });
  const database = new Database(full, { fileMustExist: !options.create });
  database.pragma('busy_timeout = 5000');
  database.pragma('journal_mode = WAL');
  database.pragma('synchronous = FULL');
  const db = new Kysely<StoreSchema>({ dialect: new WharfSqliteDialect({ database }) });
  return { db, dialect: 'sqlite', close: () => db.destroy() };
}

/** Opens a one-connection pool to PostgreSQL (int8 as numbers, like the store). */
export function openRawPostgres(url: string): RawDatabase {
  const types = new pg.TypeOverrides();
  types.setTypeParser(pg.types.builtins.INT8, (value: string) => Number(value));
  const pool = new pg.Pool({ connectionString: url, types, max: 1, connectionTimeoutMillis: 10_000 });
  pool.on('error', () => undefined);
  const db = new Kysely<StoreSchema>({ dialect: new PostgresDialect({ pool }) });
  return { db, dialect: 'postgres', close: () => db.destroy() };
}

/** Whether the database already holds a Wharf schema (a restore target must not). */
export async function hasWharfSchema(raw: RawDatabase): Promise<boolean> {
  if (raw.dialect === 'sqlite') {
    const { rows } = await sql<{ n: number }>`select count(*) as n from sqlite_master where type = 'table'`.execute(
      raw.db,
    );
    return Number(rows[0]?.n ?? 0) > 0;
  }
  const { rows } = await sql<{ n: number }>`
    select count(*)::int as n from information_schema.tables
    where table_schema = current_schema() and table_name in ('objects', 'changes', 'counters', 'wharf_migration')`.execute(
    raw.db,
  );
  return Number(rows[0]?.n ?? 0) > 0;
}

/** Whether a SQLite store file exists at `path`. */
export function sqliteStoreExists(path: string): boolean {
  return existsSync(path);
}
