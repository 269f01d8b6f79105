/**
 * A resource kind is one file: a kind declared only with `defineKind` (here, in this test, and in no
 * registry) is stored, read, listed by its filter, updated with optimistic concurrency and deleted
 * through a Kysely collection built from its definition alone, on SQLite and PostgreSQL (skipped
 * with the reason when no server is reachable outside CI). And the registry's kinds are exactly the
 * Store's collections.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { defineKind, keyPart, splitKey } from '../src/core/resources/define-kind.js';
import { KIND_DEFINITIONS } from '../src/core/resources/kinds.js';
import type { StoredFields } from '../src/core/resources/stored.js';
import { RESOURCE_KINDS } from '../src/core/resources.js';
import { type CollectionContext, KyselyCollection, WriteContext } from '../src/store/kysely-collection.js';
import { migrateToLatest } from '../src/store/migrations/index.js';
import type { StoreSchema } from '../src/store/schema.js';
import { openSqliteStore } from '../src/store/sqlite/sqlite-store.js';
import { WharfSqliteDialect } from '../src/store/sqlite/sqlite-dialect.js';
import { createTestDatabase } from './support/postgres.js';

/** A kind that exists only here. */
interface Widget extends StoredFields {
  environment: string;
  name: string;
  size: number;
}

const widgetKind = defineKind<Widget, { environment: string; name: string }, { environment?: string }>()({
  kind: 'Widget',
  collection: 'widgets',
  key: (id) => `${keyPart('environment', id.environment)}/${keyPart('name', id.name)}`,
  idOfKey: (key) => {
    const [environment, name] = splitKey(key);
    return { environment, name };
  },
  id: (o) => ({ environment: o.environment, name: o.name }),
  index: (o) => ({ environment: o.environment, parent: null }),
  filter: (f) => (f.environment === undefined ? {} : { environment: f.environment }),
});

/** Reads from `db`; each write is its own transaction with its change rows, as the store does. */
function contextOf(db: Kysely<StoreSchema>): CollectionContext {
  return {
    reader: () => db,
    write: (fn) =>
      db.transaction().execute(async (trx) => {
        const w = new WriteContext(trx);
        try {
          const result = await fn(w);
          await w.finish();
          return result;
        } finally {
          w.close();
        }
      }),
  };
}

interface Backend {
  name: string;
  skip?: string;
  open(): Promise<Kysely<StoreSchema>>;
}

const home = mkdtempSync(join(tmpdir(), 'wharf-define-kind-'));
const postgres = await createTestDatabase();
after(async () => {
  rmSync(home, { recursive: true, force: true });
  if (!('skip' in postgres)) await postgres.drop();
});

const backends: Backend[] = [
  {
    name: 'sqlite',
    open: async () => {
      const db = new Kysely<StoreSchema>({
        dialect: new WharfSqliteDialect({ database: new Database(join(home, 'widgets.db')) }),
      });
      await migrateToLatest(db as Kysely<unknown>, 'sqlite');
      return db;
    },
  },
  {
    name: 'postgres',
    ...('skip' in postgres ? { skip: postgres.skip } : {}),
    open: async () => {
      if ('skip' in postgres) throw new Error(postgres.skip);
      const db = new Kysely<StoreSchema>({
        dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: postgres.url, max: 2 }) }),
      });
      await migrateToLatest(db as Kysely<unknown>, 'postgres');
      return db;
    },
  },
];

for (const backend of backends) {
  describe(`a kind defined outside the registry (${backend.name})`, { skip: backend.skip }, () => {
    test('is stored, read, listed by its filter, updated and deleted through its definition alone', async () => {
      const db = await backend.open();
      try {
        const widgets = new KyselyCollection(widgetKind, contextOf(db));
        const small = await widgets.create({ environment: 'dev', name: 'small', size: 1 });
        const large = await widgets.create({ environment: 'dev', name: 'large', size: 9 });
        const other = await widgets.create({ environment: 'prod', name: 'small', size: 2 });
        assert.ok(large.resourceVersion > small.resourceVersion, 'each write takes a new resourceVersion');

        assert.deepEqual(await widgets.get({ environment: 'prod', name: 'small' }), other);
        assert.deepEqual((await widgets.list({ environment: 'dev' })).items, [large, small], 'key order, dev only');
        assert.deepEqual((await widgets.list()).items, [large, small, other]);
        const first = await widgets.list({ environment: 'dev', limit: 1 });
        assert.deepEqual(first.items, [large]);
        assert.deepEqual((await widgets.list({ environment: 'dev', continue: first.continue })).items, [small]);

        await assert.rejects(widgets.create({ environment: 'dev', name: 'small', size: 3 }), {
          code: 'ALREADY_EXISTS',
          message: 'Widget dev/small already exists',
        });
        const grown = await widgets.update({ ...small, size: 2 });
        assert.equal(grown.size, 2);
        await assert.rejects(widgets.update({ ...small, size: 3 }), { code: 'CONFLICT', kind: 'Widget' });
        await assert.rejects(widgets.get({ environment: 'dev/x', name: 'small' }), { code: 'INVALID_ARGUMENT' });

        await widgets.delete({ environment: 'dev', name: 'small' }, grown.resourceVersion);
        await assert.rejects(widgets.get({ environment: 'dev', name: 'small' }), {
          code: 'NOT_FOUND',
          message: 'Widget dev/small not found',
        });

        const changes = await db
          .selectFrom('changes')
          .select(['kind', 'key', 'type'])
          .where('kind', '=', 'Widget')
          .orderBy('sequence')
          .execute();
        assert.deepEqual(
          changes.map((c) => `${c.type} ${c.key}`),
          ['created dev/small', 'created dev/large', 'created prod/small', 'updated dev/small', 'deleted dev/small'],
        );
        assert.deepEqual(widgetKind.idOfKey(changes[0]!.key), { environment: 'dev', name: 'small' });
      } finally {
        await db.destroy();
      }
    });
  });
}

describe('the kind registry', () => {
  test('lists each kind once, and the Store has exactly their collections', async () => {
    assert.deepEqual(
      KIND_DEFINITIONS.map((d) => d.kind),
      [...RESOURCE_KINDS],
    );
    assert.equal(new Set(RESOURCE_KINDS).size, RESOURCE_KINDS.length);
    const store = await openSqliteStore({ path: ':memory:' });
    try {
      for (const d of KIND_DEFINITIONS) {
        const collection = (store as unknown as Record<string, Record<string, unknown>>)[d.collection];
        assert.equal(typeof collection?.get, 'function', `store.${d.collection}`);
      }
      assert.equal(new Set(KIND_DEFINITIONS.map((d) => d.collection)).size, KIND_DEFINITIONS.length);
      assert.deepEqual(
        KIND_DEFINITIONS.filter((d) => d.appendOnly).map((d) => d.collection),
        ['revisions', 'events', 'incidents', 'auditEvents', 'auditCheckpoints', 'bundleVersions'],
      );
    } finally {
      await store.close();
    }
  });
});
