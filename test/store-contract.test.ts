/**
 * The Store contract: one suite, run against every backend (SQLite in a temp dir; PostgreSQL in a
 * fresh database, skipped with a reason when no server is reachable outside CI). A backend that
 * cannot do something is named in the test's skip, never silently left out.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import pg from 'pg';
import type { NewResource, Resource, ResourceKind } from '../src/core/resources.js';
import { type ResourceId, resourceIdOfKey, resourceKey } from '../src/core/resources-keys.js';
import { AlreadyExistsError, ConflictError } from '../src/store/errors.js';
import { MIGRATION_TABLE } from '../src/store/migrations/index.js';
import { type OpenStoreOptions, openStore } from '../src/store/open-store.js';
import type { Change, Collection, ListOptions, Store, StoreCollections } from '../src/store/store.js';
import { createTestDatabase } from './support/postgres.js';
import { eventually, letTimePass } from './support/eventually.js';

interface Backend {
  name: 'sqlite' | 'postgres';
  skip?: string;
  options: OpenStoreOptions;
  /** The migration table's rows, read directly. */
  migrationRows(): Promise<unknown[]>;
  /** Options for a new, empty database of this backend, and how to remove it. */
  fresh(): Promise<{ options: OpenStoreOptions; remove(): Promise<void> }>;
  cleanup(): Promise<void>;
}

const home = mkdtempSync(join(tmpdir(), 'wharf-store-'));
const postgres = await createTestDatabase();
const backends: Backend[] = [
  {
    name: 'sqlite',
    options: { home },
    migrationRows: () => {
      const db = new Database(join(home, 'wharf.db'), { readonly: true });
      try {
        return Promise.resolve(db.prepare(`select name, timestamp from ${MIGRATION_TABLE} order by name`).all());
      } finally {
        db.close();
      }
    },
    fresh: () => {
      const dir = mkdtempSync(join(tmpdir(), 'wharf-store-'));
      return Promise.resolve({
        options: { home: dir },
        remove: () => Promise.resolve(rmSync(dir, { recursive: true, force: true })),
      });
    },
    cleanup: () => Promise.resolve(rmSync(home, { recursive: true, force: true })),
  },
  'skip' in postgres
    ? {
        name: 'postgres',
        skip: postgres.skip,
        options: { home },
        migrationRows: () => Promise.resolve([]),
        fresh: () => Promise.reject(new Error('skipped')),
        cleanup: () => Promise.resolve(),
      }
    : {
        name: 'postgres',
        options: { home, url: postgres.url },
        migrationRows: async () => {
          const client = new pg.Client(postgres.url);
          await client.connect();
          try {
            return (await client.query(`select name, timestamp from ${MIGRATION_TABLE} order by name`)).rows;
          } finally {
            await client.end();
          }
        },
        fresh: async () => {
          const db = await createTestDatabase();
          if ('skip' in db) throw new Error(db.skip);
          return { options: { home, url: db.url }, remove: () => db.drop() };
        },
        cleanup: () => postgres.drop(),
      },
];
if ('skip' in postgres) console.log(`postgres store contract skipped: ${postgres.skip}`);

const T0 = '2026-01-01T00:00:00.000Z';
let counter = 0;
const uid = (prefix: string): string => `${prefix}-${process.pid}-${++counter}`;

const fixtures = {
  environment: (name: string): NewResource<'Environment'> => ({
    name,
    runtime: 'local',
    policies: { requiresApproval: false },
    labels: { tier: 'dev' },
  }),
  model: (name: string): NewResource<'Model'> => ({ name, description: 'readmission risk', labels: {} }),
  modelVersion: (model: string, version = '1.4.0'): NewResource<'ModelVersion'> => ({
    model,
    version,
    artifact: { digest: `sha256:${'ab'.repeat(32)}`, size: 1234, filename: 'model.onnx' },
    signature: {
      inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 8] }],
      outputs: [{ name: 'p', datatype: 'FP32', shape: [-1, 2] }],
    },
    labels: {},
    source: { commit: 'abc123' },
    createdAt: T0,
  }),
  deployment: (id: string, environment = 'staging'): NewResource<'Deployment'> => ({
    id,
    name: id,
    type: 'model',
    environment,
    model: { name: 'readmission', version: '1.4.0' },
    configuration: {
      replicas: 2,
      resources: { cpu: '500m', memory: '512Mi', gpu: 0 },
      scaling: { min: 1, max: 4, targetCPU: 70, targetMemory: 80 },
      healthCheck: { path: '/v2/health/ready', interval: 10, timeout: 2, retries: 3 },
    },
    strategy: { type: 'rolling' },
    revision: 1,
    status: { phase: 'deploying', conditions: [], readyReplicas: 0, observedRevision: 0 },
    endpoints: {},
    metadata: { created: T0, updated: T0, deployedBy: 'alice', project: 'care', labels: { team: 'risk' } },
  }),
  revision: (deployment: string, number = 1): NewResource<'Revision'> => ({
    deployment,
    number,
    spec: {
      type: 'model',
      model: { name: 'readmission', version: '1.4.0' },
      configuration: fixturesConfiguration(),
      strategy: { type: 'rolling' },
    },
    createdAt: T0,
    createdBy: 'alice',
    reason: 'created',
  }),
  event: (deployment: string, id: string): NewResource<'DeploymentEvent'> => ({
    deployment,
    id,
    time: T0,
    type: 'Normal',
    reason: 'Created',
    message: 'created',
  }),
};

function fixturesConfiguration(): NewResource<'Deployment'>['configuration'] {
  return fixtures.deployment('x').configuration;
}

/** How the generic CRUD test drives one kind. */
interface KindCase<K extends ResourceKind> {
  kind: K;
  collection(store: StoreCollections): Collection<K>;
  make(name: string): NewResource<K>;
  id(object: NewResource<K>): ResourceId<K>;
  /** The list filter that finds objects made by `make` (undefined: list everything). */
  filter(object: NewResource<K>): ListOptions<K>;
  /** An edit for the update step; absent for append-only kinds. */
  change?(object: Resource<K>): Resource<K>;
}

const kindCases = [
  {
    kind: 'Environment',
    collection: (s) => s.environments,
    make: fixtures.environment,
    id: (o) => o.name,
    filter: () => ({}),
    change: (o) => ({ ...o, policies: { requiresApproval: true } }),
  } satisfies KindCase<'Environment'>,
  {
    kind: 'Model',
    collection: (s) => s.models,
    make: fixtures.model,
    id: (o) => o.name,
    filter: () => ({}),
    change: (o) => ({ ...o, description: 'v2' }),
  } satisfies KindCase<'Model'>,
  {
    kind: 'ModelVersion',
    collection: (s) => s.modelVersions,
    make: (n) => fixtures.modelVersion(n),
    id: (o) => ({ model: o.model, version: o.version }),
    filter: (o) => ({ model: o.model }),
    change: (o) => ({ ...o, labels: { stage: 'prod' } }),
  } satisfies KindCase<'ModelVersion'>,
  {
    kind: 'Deployment',
    collection: (s) => s.deployments,
    make: (n) => fixtures.deployment(n, n),
    id: (o) => o.id,
    filter: (o) => ({ environment: o.environment }),
    change: (o) => ({ ...o, status: { ...o.status, phase: 'running' } }),
  } satisfies KindCase<'Deployment'>,
  {
    kind: 'Revision',
    collection: (s) => s.revisions as Collection<'Revision'>,
    make: (n) => fixtures.revision(n, 7),
    id: (o) => ({ deployment: o.deployment, number: o.number }),
    filter: (o) => ({ deployment: o.deployment }),
  } satisfies KindCase<'Revision'>,
  {
    kind: 'DeploymentEvent',
    collection: (s) => s.events as Collection<'DeploymentEvent'>,
    make: (n) => fixtures.event(n, '0001'),
    id: (o) => ({ deployment: o.deployment, id: o.id }),
    filter: (o) => ({ deployment: o.deployment }),
  } satisfies KindCase<'DeploymentEvent'>,
];

async function checkCrud<K extends ResourceKind>(store: Store, c: KindCase<K>): Promise<void> {
  const items = c.collection(store);
  const fresh = c.make(uid(c.kind.toLowerCase()));
  const key = resourceKey(c.kind, c.id(fresh));
  const mine = async (): Promise<Resource<K>[]> => {
    const page = await items.list({ ...c.filter(fresh), limit: 1000 });
    return page.items.filter((o) => resourceKey(c.kind, c.id(o)) === key);
  };
  const created = await items.create(fresh);
  assert.deepEqual(created, { ...fresh, resourceVersion: created.resourceVersion });
  assert.deepEqual(await items.get(c.id(fresh)), created);
  assert.deepEqual(await mine(), [created]);
  let current = created;
  if (c.change !== undefined) {
    const updated = await items.update(c.change(created));
    assert.ok(updated.resourceVersion > created.resourceVersion, 'resourceVersion increases on update');
    assert.deepEqual(updated, { ...c.change(created), resourceVersion: updated.resourceVersion });
    assert.deepEqual(await items.get(c.id(fresh)), updated);
    current = updated;
  }
  await items.delete(c.id(fresh), current.resourceVersion);
  await assert.rejects(items.get(c.id(fresh)), { name: 'NotFoundError', code: 'NOT_FOUND' });
  assert.deepEqual(await mine(), []);
}

/** Collects a watch into an array until aborted; `next(n)` waits until n changes have arrived. */
function collect(store: Store, options: { since?: number; kinds?: ResourceKind[] } = {}) {
  const controller = new AbortController();
  const seen: { change: Change; at: number }[] = [];
  const done = (async () => {
    for await (const change of store.watch({ ...options, signal: controller.signal })) {
      seen.push({ change, at: performance.now() });
    }
  })();
  const next = async (count: number, timeoutMs = 5000): Promise<Change[]> => {
    await eventually(() => seen.length >= count, {
      timeoutMs,
      intervalMs: 2,
      message: () => `watch delivered ${seen.length} of ${count} changes`,
    });
    return seen.map((s) => s.change);
  };
  const stop = async (): Promise<void> => {
    controller.abort();
    await done;
  };
  return { seen, next, stop, done };
}

for (const backend of backends) {
  describe(`store contract: ${backend.name}`, { skip: backend.skip }, () => {
    let store: Store;
    let other: Store; // a second store on the same database, as a second replica or process would have
    const open = (extra: Partial<OpenStoreOptions> = {}): Promise<Store> => openStore({ ...backend.options, ...extra });

    before(async () => {
      store = await open();
      other = await open();
    });
    after(async () => {
      await other?.close();
      await store?.close();
      await backend.cleanup();
    });

    test('migrations run on the first open only, recorded in the migration table', async () => {
      assert.deepEqual(store.appliedMigrations, ['0001-initial', '0002-approval-state-incident-name']);
      assert.deepEqual(other.appliedMigrations, []);
      const rows = await backend.migrationRows();
      const again = await open();
      assert.deepEqual(again.appliedMigrations, []);
      await again.close();
      assert.deepEqual(await backend.migrationRows(), rows);
      assert.deepEqual(
        (rows as { name: string }[]).map((r) => r.name),
        ['0001-initial', '0002-approval-state-incident-name'],
      );
    });

    test('stores opening a new database at once migrate it exactly once', async () => {
      const fresh = await backend.fresh();
      try {
        const stores = await Promise.all([1, 2, 3].map(() => openStore(fresh.options)));
        assert.deepEqual(stores.map((s) => s.appliedMigrations).flat(), [
          '0001-initial',
          '0002-approval-state-incident-name',
        ]);
        await Promise.all(stores.map((s) => s.close()));
      } finally {
        await fresh.remove();
      }
    });

    test('capabilities say what the backend can do', () => {
      assert.equal(store.backend, backend.name);
      assert.equal(store.capabilities.multiProcess, backend.name === 'postgres');
    });

    for (const c of kindCases) {
      test(`${c.kind}: create, get, list, update, delete`, () => checkCrud(store, c as KindCase<ResourceKind>));
    }

    test('a stale update or delete fails with CONFLICT and changes nothing', async () => {
      const first = await store.deployments.create(fixtures.deployment(uid('d')));
      const second = await store.deployments.update({ ...first, revision: 2 });
      const before = await store.latestSequence();
      const stale = { ...first, revision: 3 };
      await assert.rejects(
        store.deployments.update(stale),
        (e) => e instanceof ConflictError && e.code === 'CONFLICT' && e.actual === second.resourceVersion,
      );
      await assert.rejects(store.deployments.delete(first.id, first.resourceVersion), { code: 'CONFLICT' });
      assert.deepEqual(await store.deployments.get(first.id), second);
      assert.deepEqual(await store.changes(before), []);
      await assert.rejects(store.deployments.update({ ...second, id: uid('missing') }), { code: 'NOT_FOUND' });
      await assert.rejects(store.deployments.delete(uid('missing')), { code: 'NOT_FOUND' });
      await assert.rejects(store.deployments.update({ ...second, resourceVersion: undefined as unknown as number }), {
        code: 'INVALID_ARGUMENT',
      });
    });

    test('a duplicate create fails with ALREADY_EXISTS and changes nothing', async () => {
      const created = await store.models.create(fixtures.model(uid('m')));
      const before = await store.latestSequence();
      await assert.rejects(
        store.models.create({ ...created, description: 'other' }),
        (e) => e instanceof AlreadyExistsError && e.code === 'ALREADY_EXISTS',
      );
      assert.deepEqual(await store.models.get(created.name), created);
      assert.deepEqual(await store.changes(before), []);
    });

    test('a transaction commits its writes together, with one change row each', async () => {
      const d = await store.deployments.create(fixtures.deployment(uid('d')));
      const before = await store.latestSequence();
      await store.transaction(async (tx) => {
        await tx.deployments.update({ ...d, revision: 2 });
        await tx.revisions.create(fixtures.revision(d.id, 2));
        await tx.events.create(fixtures.event(d.id, '0002'));
      });
      assert.equal((await store.deployments.get(d.id)).revision, 2);
      const changes = await store.changes(before);
      assert.deepEqual(
        changes.map((c) => [c.sequence, c.kind, c.type]),
        [
          [before + 1, 'Deployment', 'updated'],
          [before + 2, 'Revision', 'created'],
          [before + 3, 'DeploymentEvent', 'created'],
        ],
      );
    });

    test('a transaction that throws leaves nothing half-written', async () => {
      const d = await store.deployments.create(fixtures.deployment(uid('d')));
      const before = await store.latestSequence();
      await assert.rejects(
        store.transaction(async (tx) => {
          await tx.deployments.update({ ...d, revision: 2 });
          await tx.revisions.create(fixtures.revision(d.id, 2));
          throw new Error('boom');
        }),
        /boom/,
      );
      await assert.rejects(
        // a conflict after a successful write undoes that write too
        store.transaction(async (tx) => {
          await tx.revisions.create(fixtures.revision(d.id, 2));
          await tx.deployments.update({ ...d, resourceVersion: d.resourceVersion - 1 });
        }),
        { code: 'CONFLICT' },
      );
      assert.deepEqual(await store.deployments.get(d.id), d);
      assert.deepEqual((await store.revisions.list({ deployment: d.id })).items, []);
      assert.deepEqual(await store.changes(before), []);
      assert.equal(await store.latestSequence(), before);
    });

    test('inside a transaction only the tx handle works, and only until it ends', async () => {
      let escaped: StoreCollections | undefined;
      await assert.rejects(
        store.transaction(async (tx) => {
          escaped = tx;
          await store.models.list();
        }),
        /use the tx handle/,
      );
      await assert.rejects(escaped!.models.list(), /transaction has ended/);
    });

    test('lists page in key order with an opaque continue token and filters', async () => {
      const env = uid('env');
      const ids = Array.from({ length: 7 }, (_, i) => `${env}-d${i}`);
      for (const id of [...ids].reverse()) await store.deployments.create(fixtures.deployment(id, env));
      await store.deployments.create(fixtures.deployment(uid('elsewhere'), uid('env')));
      const pages: string[][] = [];
      let token: string | undefined;
      do {
        const page = await store.deployments.list({ environment: env, limit: 3, continue: token });
        pages.push(page.items.map((d) => d.id));
        token = page.continue;
      } while (token !== undefined);
      assert.deepEqual(pages, [ids.slice(0, 3), ids.slice(3, 6), ids.slice(6)]);
      const d = uid('d');
      for (const n of [10, 2, 1, 11, 3]) await store.revisions.create(fixtures.revision(d, n));
      assert.deepEqual(
        (await store.revisions.list({ deployment: d })).items.map((r) => r.number),
        [1, 2, 3, 10, 11],
      );
      await assert.rejects(store.deployments.list({ limit: 0 }), { code: 'INVALID_ARGUMENT' });
      await assert.rejects(store.deployments.list({ continue: 'garbage' }), { code: 'INVALID_ARGUMENT' });
    });

    test('the change feed delivers every write in order, exactly once, and resumes from a sequence', async () => {
      const since = await store.latestSequence();
      const name = uid('m');
      const m = await store.models.create(fixtures.model(name));
      const v = await store.modelVersions.create(fixtures.modelVersion(name));
      const m2 = await store.models.update({ ...m, description: 'two' });
      await store.modelVersions.delete({ model: name, version: '1.4.0' }, v.resourceVersion);
      const expected = [
        { sequence: since + 1, kind: 'Model', key: name, type: 'created', resourceVersion: m.resourceVersion },
        {
          sequence: since + 2,
          kind: 'ModelVersion',
          key: `${name}/1.4.0`,
          type: 'created',
          resourceVersion: v.resourceVersion,
        },
        { sequence: since + 3, kind: 'Model', key: name, type: 'updated', resourceVersion: m2.resourceVersion },
        {
          sequence: since + 4,
          kind: 'ModelVersion',
          key: `${name}/1.4.0`,
          type: 'deleted',
          resourceVersion: since + 4,
        },
      ];
      assert.deepEqual(await store.changes(since), expected);
      const all = collect(other, { since });
      assert.deepEqual(await all.next(4), expected);
      const resumed = collect(other, { since: since + 2 });
      assert.deepEqual(await resumed.next(2), expected.slice(2));
      await resumed.stop();
      const modelsOnly = collect(store, { since, kinds: ['Model'] });
      assert.deepEqual(await modelsOnly.next(2), [expected[0], expected[2]]);
      await modelsOnly.stop();
      // Nothing delivered twice: a later write reaches the first watch, and nothing came between the four and it.
      const later = await store.models.create(fixtures.model(uid('later')));
      const [fifth] = (await all.next(5)).slice(4);
      assert.equal(fifth?.resourceVersion, later.resourceVersion, 'the later write comes fifth');
      assert.equal(all.seen.length, 5, 'nothing delivered twice');
      await all.stop();
      assert.deepEqual(resourceIdOfKey('ModelVersion', expected[1]!.key), { model: name, version: '1.4.0' });
    });

    test('a watcher wakes within ~100 ms of a write by another store (notification, not the poll)', async (t) => {
      const watcher = await open({ pollIntervalMs: 60_000 });
      const feed = collect(watcher, { kinds: ['Model'], since: await store.latestSequence() });
      // Connected and caught up: a first write is delivered (from the catch-up read or a notification).
      await store.models.create(fixtures.model(uid('m')));
      await feed.next(1, 5000);
      const latencies: number[] = [];
      for (let i = 1; i <= 5; i++) {
        await letTimePass(30, 'the watcher finishes its read and sleeps (a minute): only a notification wakes it now');
        await store.models.create(fixtures.model(uid('m')));
        const written = performance.now();
        await feed.next(1 + i, 2000);
        latencies.push(Math.max(0, feed.seen[i]!.at - written));
      }
      await feed.stop();
      await watcher.close();
      t.diagnostic(`wake-up latencies (ms): ${latencies.map((l) => l.toFixed(1)).join(', ')}`);
      assert.ok(Math.max(...latencies) < 100, `wake-up latencies ${latencies.map((l) => l.toFixed(1)).join(', ')} ms`);
    });

    test('a watch ends when its signal aborts, and when the store closes', async () => {
      const watcher = await open({ pollIntervalMs: 60_000 });
      const feed = collect(watcher);
      await letTimePass(50, 'the watch connects, reads and sleeps (a minute): abort must end that sleep');
      const t = performance.now();
      await feed.stop();
      assert.ok(performance.now() - t < 100, 'abort ends a sleeping watch at once');
      const second = collect(watcher);
      await letTimePass(50, 'the watch connects, reads and sleeps: closing the store must end it');
      await watcher.close();
      await second.done;
    });

    test('concurrent updates from two stores: exactly one wins per resourceVersion', async () => {
      const since = await store.latestSequence();
      let d = await store.deployments.create(fixtures.deployment(uid('d')));
      for (let round = 0; round < 10; round++) {
        const results = await Promise.allSettled([
          store.deployments.update({ ...d, revision: d.revision + 1 }),
          other.deployments.update({ ...d, revision: d.revision + 100 }),
        ]);
        const won = results.filter((r) => r.status === 'fulfilled');
        const lost = results.filter((r) => r.status === 'rejected');
        assert.equal(won.length, 1, `round ${round}: exactly one winner`);
        assert.equal((lost[0]!.reason as ConflictError).code, 'CONFLICT');
        d = await store.deployments.get(d.id);
        assert.equal(
          d.resourceVersion,
          (won[0] as PromiseFulfilledResult<Resource<'Deployment'>>).value.resourceVersion,
        );
      }
      // Read-modify-write with retry on CONFLICT from both stores at once: no increment is lost.
      const increment = async (s: Store): Promise<void> => {
        for (;;) {
          const current = await s.deployments.get(d.id);
          try {
            await s.deployments.update({
              ...current,
              status: { ...current.status, readyReplicas: current.status.readyReplicas + 1 },
            });
            return;
          } catch (e) {
            if ((e as ConflictError).code !== 'CONFLICT') throw e;
          }
        }
      };
      await Promise.all(Array.from({ length: 12 }, (_, i) => increment(i % 2 === 0 ? store : other)));
      assert.equal((await store.deployments.get(d.id)).status.readyReplicas, 12);
      const changes = await store.changes(since);
      assert.equal(changes.length, 1 + 10 + 12);
      assert.deepEqual(
        changes.map((c) => c.sequence),
        changes.map((_, i) => since + 1 + i),
        'gap-free, in order',
      );
    });

    test('acknowledged writes survive kill -9 of the writing process', async () => {
      const deployment = uid('killed');
      const watcher = await open({ pollIntervalMs: 100 });
      const feed = collect(watcher, { kinds: ['DeploymentEvent'] });
      const child = spawn(process.execPath, ['--input-type=module', '-e', CHILD], {
        env: {
          ...process.env,
          STORE_MODULE: new URL('../src/store/open-store.js', import.meta.url).href,
          STORE_OPTIONS: JSON.stringify(backend.options),
          DEPLOYMENT: deployment,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      let err = '';
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      const exited = new Promise((resolve) => child.once('exit', resolve));
      try {
        await new Promise<void>((resolve, reject) => {
          child.stdout.on('data', (d: Buffer) => {
            out += d.toString();
            if ((out.match(/^ok /gm) ?? []).length >= 20) resolve();
          });
          void exited.then((code) => reject(new Error(`writer exited (${String(code)}) early: ${err}`)));
        });
      } finally {
        child.kill('SIGKILL');
        await exited;
      }
      const acknowledged = [...out.matchAll(/^ok (\d+)$/gm)].map((m) => m[1]!);
      const reopened = await open();
      const stored = new Set((await reopened.events.list({ deployment, limit: 1000 })).items.map((e) => e.id));
      await reopened.close();
      assert.deepEqual(
        acknowledged.filter((id) => !stored.has(id)),
        [],
        'every acknowledged write is there',
      );
      await feed.next(acknowledged.length, 3000); // another process's writes reach a watcher too
      await feed.stop();
      await watcher.close();
    });
  });
}

/** The writer killed by the durability test: prints `ok <id>` after each committed write. */
const CHILD = `
const { openStore } = await import(process.env.STORE_MODULE);
const store = await openStore(JSON.parse(process.env.STORE_OPTIONS));
for (let i = 0; ; i++) {
  const id = String(i).padStart(6, '0');
  await store.events.create({ deployment: process.env.DEPLOYMENT, id, time: new Date().toISOString(), type: 'Normal', reason: 'Tick', message: 'tick' });
  process.stdout.write('ok ' + id + '\\n');
}
`;
