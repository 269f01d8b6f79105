/**
 * Fills the `parent` column of existing approvals with their state and of existing incidents with
 * their deployment's name (it held the deployment id), as `core/resources-keys.ts` now indexes
 * them: approvals are listed by state, and incidents by deployment name, in the query rather than
 * after paging. New writes set the column themselves.
 */
import { type Kysely, type Migration, sql } from 'kysely';
import type { MigrationDialect } from './index.js';

export function indexApprovalStateAndIncidentName(dialect: MigrationDialect): Migration {
  const field = (name: string) =>
    dialect === 'postgres' ? sql.raw(`doc->>'${name}'`) : sql.raw(`json_extract(doc, '$.${name}')`);
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await sql`update objects set parent = ${field('state')} where kind = 'Approval'`.execute(db);
      await sql`update objects set parent = ${field('deploymentName')} where kind = 'Incident'`.execute(db);
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await sql`update objects set parent = null where kind = 'Approval'`.execute(db);
      const id =
        dialect === 'postgres'
          ? sql.raw(`environment || '.' || (doc->>'deploymentName')`)
          : sql.raw(`environment || '.' || json_extract(doc, '$.deploymentName')`);
      await sql`update objects set parent = ${id} where kind = 'Incident'`.execute(db);
    },
  };
}
