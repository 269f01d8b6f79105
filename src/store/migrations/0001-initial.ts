/** The first schema: objects as JSON documents with indexed key columns, the change feed, counters. */
import { type Kysely, type Migration, sql } from 'kysely';
import type { MigrationDialect } from './index.js';

/** Creates `objects`, `changes` and `counters` (see `../schema.ts` for why one objects table). */
export function initial(dialect: MigrationDialect): Migration {
  // jsonb on PostgreSQL so later migrations can index into documents (labels); SQLite keeps text.
  const json = dialect === 'postgres' ? 'jsonb' : 'text';
  // Keys sort bytewise on both databases (SQLite's default; PostgreSQL's "C" collation), so list
  // order and continue tokens mean the same on each.
  const keyText = sql.raw(dialect === 'postgres' ? 'text collate "C"' : 'text');
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('objects')
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('key', keyText, (c) => c.notNull())
        .addColumn('resource_version', 'bigint', (c) => c.notNull())
        .addColumn('environment', keyText)
        .addColumn('parent', keyText)
        .addColumn('doc', sql.raw(json), (c) => c.notNull())
        .addPrimaryKeyConstraint('objects_pk', ['kind', 'key'])
        .execute();
      await db.schema
        .createIndex('objects_environment')
        .on('objects')
        .columns(['kind', 'environment', 'key'])
        .execute();
      await db.schema.createIndex('objects_parent').on('objects').columns(['kind', 'parent', 'key']).execute();
      await db.schema
        .createTable('changes')
        .addColumn('sequence', 'bigint', (c) => c.primaryKey())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('key', 'text', (c) => c.notNull())
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('resource_version', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('counters')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('value', 'bigint', (c) => c.notNull())
        .execute();
      await sql`insert into counters (name, value) values ('changes', 0)`.execute(db);
    },
    async down(db: Kysely<unknown>): Promise<void> {
      for (const table of ['counters', 'changes', 'objects']) await db.schema.dropTable(table).execute();
    },
  };
}
