/**
 * A consistent copy of a store as rows, and its load into an empty database.
 *
 * Consistency: on SQLite, better-sqlite3's online `.backup()` copies the live file page by page into
 * a temporary file (SQLite restarts the copy when another connection writes meanwhile, so the copy
 * is one committed state); the rows are then read from that copy. On PostgreSQL, every table is read
 * in one `REPEATABLE READ READ ONLY` transaction: one snapshot, while writers go on.
 *
 * The rows are the same on both backends (`objects`, `changes`, `counters`, the applied migration
 * names), so a SQLite backup restores into PostgreSQL and back. Files are JSON lines, one row a
 * line, each file's SHA-256 in the result; the load runs in one transaction, so a failed restore
 * leaves no half-written store.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import Database from 'better-sqlite3';
import type { Kysely, Transaction } from 'kysely';
import {
  knownMigrations,
  migrateTo,
  migrateToLatest,
  MIGRATION_LOCK_TABLE,
  MIGRATION_TABLE,
} from '../migrations/index.js';
import type { StoreSchema } from '../schema.js';
import {
  hasWharfSchema,
  openRawPostgres,
  openRawSqlite,
  type RawDatabase,
  type StoreLocation,
} from './raw-database.js';

/** The files of a dump, under its directory. */
export const DUMP_FILES = { objects: 'objects.jsonl', changes: 'changes.jsonl', counters: 'counters.jsonl' } as const;

/** What a dump holds, for the archive's manifest. */
export interface StoreDumpInfo {
  backend: StoreLocation['backend'];
  /** Applied migrations at the snapshot, in order. */
  migrations: string[];
  counts: { objects: number; changes: number; counters: number };
  /** SHA-256 (hex) of each file, by file name. */
  files: Record<string, string>;
  /** SHA-256 over the files' digests in name order: one figure for "the same store". */
  checksum: string;
}

/** One stored object as dumped. */
export interface DumpedObject {
  kind: string;
  key: string;
  resourceVersion: number;
  environment: string | null;
  parent: string | null;
  doc: unknown;
}

const PAGE = 1000;

/** Appends lines to a file while hashing them. */
class HashedLines {
  readonly #hash = createHash('sha256');
  count = 0;
  private constructor(private readonly handle: Awaited<ReturnType<typeof open>>) {}

  static async create(path: string): Promise<HashedLines> {
    return new HashedLines(await open(path, 'wx', 0o600));
  }

  async write(rows: readonly unknown[]): Promise<void> {
    if (rows.length === 0) return;
    const text = rows.map((r) => `${JSON.stringify(r)}\n`).join('');
    this.#hash.update(text);
    this.count += rows.length;
    await this.handle.write(text);
  }

  async close(): Promise<string> {
    await this.handle.sync();
    await this.handle.close();
    return this.#hash.digest('hex');
  }
}

async function dumpRows(db: Kysely<StoreSchema> | Transaction<StoreSchema>, dir: string): Promise<StoreDumpInfo> {
  const objects = await HashedLines.create(join(dir, DUMP_FILES.objects));
  const changes = await HashedLines.create(join(dir, DUMP_FILES.changes));
  const counters = await HashedLines.create(join(dir, DUMP_FILES.counters));
  try {
    let after: { kind: string; key: string } | undefined;
    for (;;) {
      let query = db.selectFrom('objects').selectAll().orderBy('kind').orderBy('key').limit(PAGE);
      if (after !== undefined) {
        const a = after;
        query = query.where((eb) =>
          eb.or([eb('kind', '>', a.kind), eb.and([eb('kind', '=', a.kind), eb('key', '>', a.key)])]),
        );
      }
      const rows = await query.execute();
      await objects.write(
        rows.map((r) => ({
          kind: r.kind,
          key: r.key,
          resourceVersion: Number(r.resource_version),
          environment: r.environment,
          parent: r.parent,
          // SQLite returns the JSON text, PostgreSQL's jsonb the parsed value.
          doc: typeof r.doc === 'string' ? (JSON.parse(r.doc) as unknown) : r.doc,
        })),
      );
      if (rows.length < PAGE) break;
      after = { kind: rows.at(-1)!.kind, key: rows.at(-1)!.key };
    }
    let since = 0;
    for (;;) {
      const rows = await db
        .selectFrom('changes')
        .selectAll()
        .where('sequence', '>', since)
        .orderBy('sequence')
        .limit(PAGE)
        .execute();
      await changes.write(
        rows.map((r) => ({ ...r, sequence: Number(r.sequence), resource_version: Number(r.resource_version) })),
      );
      if (rows.length < PAGE) break;
      since = Number(rows.at(-1)!.sequence);
    }
    const counterRows = await db.selectFrom('counters').selectAll().orderBy('name').execute();
    await counters.write(counterRows.map((r) => ({ name: r.name, value: Number(r.value) })));
    const migrationRows = await (db as unknown as Kysely<Record<string, { name: string }>>)
      .selectFrom(MIGRATION_TABLE)
      .select('name')
      .orderBy('name')
      .execute();
    const files = {
      [DUMP_FILES.changes]: await changes.close(),
      [DUMP_FILES.counters]: await counters.close(),
      [DUMP_FILES.objects]: await objects.close(),
    };
    return {
      backend: 'sqlite',
      migrations: migrationRows.map((r) => r.name),
      counts: { objects: objects.count, changes: changes.count, counters: counters.count },
      files,
      checksum: dumpChecksum(files),
    };
  } catch (error) {
    for (const f of [objects, changes, counters]) await f.close().catch(() => undefined);
    throw error;
  }
}

/** The checksum of a dump from its files' digests (name order). */
export function dumpChecksum(files: Readonly<Record<string, string>>): string {
  const hash = createHash('sha256');
  for (const name of Object.keys(files).sort()) hash.update(`${name} ${files[name]}\n`);
  return hash.digest('hex');
}

/**
 * Writes a consistent copy of the store at `location` into `dir` (which must exist and not hold
 * the dump's files), while the platform keeps writing.
 */
export async function dumpStore(location: StoreLocation, dir: string): Promise<StoreDumpInfo> {
  if (location.backend === 'postgres') {
    const raw = openRawPostgres(location.url);
    try {
      const info = await raw.db
        .transaction()
        .setIsolationLevel('repeatable read')
        .setAccessMode('read only')
        .execute((trx) => dumpRows(trx, dir));
      return { ...info, backend: 'postgres' };
    } finally {
      await raw.close();
    }
  }
  // The copy sits in the dump's folder, not in the home: a backup never writes into what it copies.
  const scratch = await mkdtemp(join(dir, '.sqlite-copy-'));
  const copy = join(scratch, 'wharf.db');
  try {
    const source = new Database(location.path, { fileMustExist: true });
    try {
      source.pragma('busy_timeout = 5000');
      await source.backup(copy);
    } finally {
      source.close();
    }
    const raw = openRawSqlite(copy, { create: false });
    try {
      return { ...(await dumpRows(raw.db, dir)), backend: 'sqlite' };
    } finally {
      await raw.close();
    }
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

async function* readLines<T>(path: string): AsyncGenerator<T> {
  const lines = createInterface({ input: createReadStream(path), crlfDelay: Infinity });
  for await (const line of lines) if (line !== '') yield JSON.parse(line) as T;
}

async function insertBatched<T>(rows: AsyncIterable<T>, insert: (batch: T[]) => Promise<unknown>): Promise<void> {
  let batch: T[] = [];
  for await (const row of rows) {
    batch.push(row);
    if (batch.length === 200) {
      await insert(batch);
      batch = [];
    }
  }
  if (batch.length > 0) await insert(batch);
}

/** Thrown when a restore target already holds a store. */
export class TargetNotEmptyError extends Error {
  override readonly name = 'TargetNotEmptyError';
}

/**
 * Loads the dump in `dir` into an empty database at `location`: the schema up to the dump's last
 * migration, every row in one transaction, then the migrations this build adds (an upgrade).
 * Refuses a database that already holds a Wharf schema, and a dump with a migration this build
 * does not know (made by a newer Wharf).
 */
export async function loadStore(location: StoreLocation, dir: string, info: StoreDumpInfo): Promise<void> {
  const known = knownMigrations();
  const unknown = info.migrations.filter((m) => !known.includes(m));
  if (unknown.length > 0)
    throw new Error(
      `the backup's store has migrations this Wharf does not know (${unknown.join(', ')}): restore it with a newer Wharf`,
    );
  const raw: RawDatabase =
    location.backend === 'postgres' ? openRawPostgres(location.url) : openRawSqlite(location.path, { create: true });
  try {
    if (await hasWharfSchema(raw))
      throw new TargetNotEmptyError(
        location.backend === 'postgres'
          ? 'the target database already holds a Wharf store; restore into an empty database'
          : `${location.path} already holds a store; restore into an empty home`,
      );
    try {
      await loadRows(raw, dir, info);
    } catch (error) {
      // The schema was made here (the target had none): take it away again, so the next try finds
      // the database as empty as this one did. The rows were one transaction and are not there.
      for (const table of ['objects', 'changes', 'counters', MIGRATION_TABLE, MIGRATION_LOCK_TABLE])
        await raw.db.schema
          .dropTable(table)
          .ifExists()
          .execute()
          .catch(() => undefined);
      throw error;
    }
  } finally {
    await raw.close();
  }
}

async function loadRows(raw: RawDatabase, dir: string, info: StoreDumpInfo): Promise<void> {
  const last = info.migrations.at(-1);
  if (last !== undefined) await migrateTo(raw.db as Kysely<unknown>, raw.dialect, last);
  {
    await raw.db.transaction().execute(async (trx) => {
      await insertBatched(readLines<DumpedObject>(join(dir, DUMP_FILES.objects)), (batch) =>
        trx
          .insertInto('objects')
          .values(
            batch.map((o) => ({
              kind: o.kind,
              key: o.key,
              resource_version: o.resourceVersion,
              environment: o.environment,
              parent: o.parent,
              doc: JSON.stringify(o.doc),
            })),
          )
          .execute(),
      );
      await insertBatched(readLines<StoreSchema['changes']>(join(dir, DUMP_FILES.changes)), (batch) =>
        trx.insertInto('changes').values(batch).execute(),
      );
      await trx.deleteFrom('counters').execute();
      await insertBatched(readLines<StoreSchema['counters']>(join(dir, DUMP_FILES.counters)), (batch) =>
        trx.insertInto('counters').values(batch).execute(),
      );
    });
  }
  await migrateToLatest(raw.db as Kysely<unknown>, raw.dialect);
}
