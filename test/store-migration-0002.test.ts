/**
 * Migration 0002 on both backends: approvals and incidents written before it (approval `parent`
 * empty, incident `parent` holding the deployment id) are found by the state and deployment-name
 * filters once a store opens the database again. The "before" rows are made by writing through
 * the store, putting the columns back as 0001 left them, and forgetting that 0002 ran.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import Database from 'better-sqlite3';
import pg from 'pg';
import type { NewResource } from '../src/core/resources.js';
import { MIGRATION_TABLE } from '../src/store/migrations/index.js';
import { openStore, type OpenStoreOptions } from '../src/store/open-store.js';
import { createTestDatabase } from './support/postgres.js';

const UNDO_0002 = [
  "update objects set parent = null where kind = 'Approval'",
  "update objects set parent = environment || '.' || #deploymentName# where kind = 'Incident'",
  `delete from ${MIGRATION_TABLE} where name = '0002-approval-state-incident-name'`,
];

const approval = (id: string, state: 'pending' | 'rejected'): NewResource<'Approval'> => ({
  id,
  environment: 'production',
  deploymentName: 'risk',
  action: 'scale',
  request: {},
  summary: 's',
  requestedBy: 'alice',
  requestedAt: id,
  state,
});
const incident = (id: string, environment: string, name: string): NewResource<'Incident'> => ({
  id,
  environment,
  deploymentName: name,
  deployment: `${environment}.${name}`,
  revision: 1,
  time: id,
  reason: 'RolloutAborted',
  message: 'm',
});

async function check(options: OpenStoreOptions, raw: (sql: string) => Promise<void>): Promise<void> {
  const store = await openStore(options);
  await store.approvals.create(approval('a1', 'rejected'));
  await store.approvals.create(approval('a2', 'pending'));
  await store.incidents.create(incident('i1', 'staging', 'risk'));
  await store.incidents.create(incident('i2', 'staging', 'other'));
  await store.close();
  for (const statement of UNDO_0002) await raw(statement);
  const again = await openStore(options);
  try {
    assert.deepEqual(again.appliedMigrations, ['0002-approval-state-incident-name']);
    assert.deepEqual(
      (await again.approvals.list({ state: 'pending' })).items.map((a) => a.id),
      ['a2'],
    );
    assert.deepEqual(
      (await again.incidents.list({ deploymentName: 'risk' })).items.map((i) => i.id),
      ['i1'],
    );
    assert.deepEqual(
      (await again.incidents.list({ environment: 'staging', deploymentName: 'other' })).items.map((i) => i.id),
      ['i2'],
    );
  } finally {
    await again.close();
  }
}

describe('store migration 0002 (approval state, incident deployment name)', () => {
  test('on SQLite', async () => {
    const home = await mkdtemp(join(tmpdir(), 'wharf-migration-'));
    try {
      await check({ home }, async (sql) => {
        const db = new Database(join(home, 'wharf.db'));
        db.exec(sql.replace('#deploymentName#', "json_extract(doc, '$.deploymentName')"));
        db.close();
      });
    } finally {
      await rm(home, { recursive: true, force: true });
    }
  });

  test('on PostgreSQL', async (t) => {
    const made = await createTestDatabase();
    if ('skip' in made) return t.skip(made.skip);
    try {
      await check({ url: made.url, home: '/nonexistent' }, async (sql) => {
        const client = new pg.Client({ connectionString: made.url });
        await client.connect();
        await client.query(sql.replace('#deploymentName#', "(doc->>'deploymentName')"));
        await client.end();
      });
    } finally {
      await made.drop();
    }
  });
});
