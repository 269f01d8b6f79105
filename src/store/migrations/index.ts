/**
 * Versioned migrations, applied in name order by Kysely's Migrator when a store opens. Add a file
 * `NNNN-what.ts` and a line below; never edit a migration that has shipped.
 */
import { type Kysely, type Migration, type MigrationProvider, Migrator } from 'kysely';
import { initial } from './0001-initial.js';
import { indexApprovalStateAndIncidentName } from './0002-approval-state-incident-name.js';

/** Where the Migrator records what ran (and, on PostgreSQL, takes its lock). */
export const MIGRATION_TABLE = 'wharf_migration';
/** Kysely's lock table beside {@link MIGRATION_TABLE}. */
export const MIGRATION_LOCK_TABLE = 'wharf_migration_lock';

/** The SQL dialect a migration is written for, where types differ. */
export type MigrationDialect = 'sqlite' | 'postgres';

function migrations(dialect: MigrationDialect): Record<string, Migration> {
  return {
    '0001-initial': initial(dialect),
    '0002-approval-state-incident-name': indexApprovalStateAndIncidentName(dialect),
  };
}

/**
 * Brings the schema up to date and returns the names of the migrations it applied. Concurrent
 * openers are safe: PostgreSQL's Migrator takes an advisory lock; on SQLite the migration runs in a
 * `begin immediate` transaction (see `sqlite/sqlite-dialect.ts`).
 */
export async function migrateToLatest(db: Kysely<unknown>, dialect: MigrationDialect): Promise<string[]> {
  const provider: MigrationProvider = { getMigrations: () => Promise.resolve(migrations(dialect)) };
  const migrator = new Migrator({
    db,
    provider,
    migrationTableName: MIGRATION_TABLE,
    migrationLockTableName: MIGRATION_LOCK_TABLE,
  });
  const { error, results = [] } = await migrator.migrateToLatest();
  if (error !== undefined) {
    const failed = results.find((r) => r.status === 'Error');
    throw new Error(`store migration ${failed?.migrationName ?? ''} failed: ${String(error)}`, { cause: error });
  }
  return results.map((r) => r.migrationName);
}

/** Every migration this build knows, in the order they apply. */
export function knownMigrations(): string[] {
  return Object.keys(migrations('sqlite')).sort();
}

/**
 * Brings an empty schema up to migration `name` and no further (a restore loads rows written at
 * that level, then runs {@link migrateToLatest} so later migrations rewrite them like any upgrade).
 */
export async function migrateTo(db: Kysely<unknown>, dialect: MigrationDialect, name: string): Promise<void> {
  const provider: MigrationProvider = { getMigrations: () => Promise.resolve(migrations(dialect)) };
  const migrator = new Migrator({
    db,
    provider,
    migrationTableName: MIGRATION_TABLE,
    migrationLockTableName: MIGRATION_LOCK_TABLE,
  });
  const { error } = await migrator.migrateTo(name);
  if (error !== undefined) throw new Error(`store migration to ${name} failed: ${String(error)}`, { cause: error });
}
