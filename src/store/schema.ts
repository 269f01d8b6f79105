/**
 * The tables, as Kysely sees them. Why one `objects` table rather than one table per kind: every
 * kind needs the same things (a key, a version checked on write, a change row in the same
 * transaction, key-ordered pagination) and is read whole as a document, so one table gives one code
 * path for all of them, and a new kind needs no migration. What a kind is queried by lives in two
 * indexed columns (`environment`, `parent`) that each kind's definition (`core/resources/`) fills
 * in; a future query that needs more gets a column and an index in a migration.
 */
import type { ColumnType } from 'kysely';

/** One stored object. */
export interface ObjectsTable {
  kind: string;
  key: string;
  resource_version: number;
  environment: string | null;
  parent: string | null;
  /** JSON text in, JSON text (SQLite) or a parsed value (PostgreSQL jsonb) out. */
  doc: ColumnType<unknown, string, string>;
}

/** One committed write, in commit order. */
export interface ChangesTable {
  sequence: number;
  kind: string;
  key: string;
  type: 'created' | 'updated' | 'deleted';
  resource_version: number;
}

/**
 * Named counters. The row `changes` holds the last change sequence; a writing transaction locks it
 * first (see `kysely-store.ts`), which also makes sequences commit in order.
 */
export interface CountersTable {
  name: string;
  value: number;
}

/** The whole schema. */
export interface StoreSchema {
  objects: ObjectsTable;
  changes: ChangesTable;
  counters: CountersTable;
}
