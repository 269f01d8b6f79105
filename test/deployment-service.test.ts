/**
 * DeploymentService on a real SQLite store: every spec change is one revision + one event in one
 * transaction; bad input changes nothing; no-op changes make no revision; stale versions conflict.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { DeploymentService } from '../src/services/deployment-service.js';
import { deletionRequestedAt } from '../src/core/deployment-identity.js';
import type { DeploymentInput } from '../src/core/deployment-spec.js';
import { ConflictError } from '../src/store/errors.js';
import type { Store } from '../src/store/store.js';
import { seededStore, type TestStore } from './support/deployment-fixtures.js';

let t: TestStore;
let service: DeploymentService;
before(async () => {
  t = await seededStore();
  service = new DeploymentService(t.store);
});
after(() => t.cleanup());

const alice = { actor: 'alice' };
let counter = 0;
const uniqueName = (): string => `svc-${++counter}`;
const input = (name: string, extra: Partial<DeploymentInput> = {}): DeploymentInput => ({
  name,
  environment: 'staging',
  model: { name: 'readmission', version: '1.3.0' },
  configuration: { replicas: 2 },
  metadata: { project: 'care', labels: { team: 'risk' } },
  ...extra,
});

/** Everything the store holds, to prove a failed call wrote nothing. */
async function snapshot(store: Store): Promise<{ sequence: number }> {
  return { sequence: await store.latestSequence() };
}

test('create stores the deployment, revision 1 and a Created event', async () => {
  const name = uniqueName();
  const d = await service.create(input(name), alice);
  assert.equal(d.id, `staging.${name}`);
  assert.equal(d.revision, 1);
  assert.equal(d.configuration.replicas, 2);
  assert.deepEqual(d.model, { name: 'readmission', version: '1.3.0' });
  assert.equal(d.status.phase, 'deploying');
  assert.equal(d.metadata.deployedBy, 'alice');
  assert.equal(d.metadata.project, 'care');
  assert.deepEqual(await service.get(name, 'staging'), d);
  const revisions = (await service.listRevisions(name, 'staging')).items;
  assert.deepEqual(
    revisions.map((r) => [r.number, r.createdBy, r.reason]),
    [[1, 'alice', 'created']],
  );
  assert.deepEqual(revisions[0]?.spec, {
    type: d.type,
    model: d.model,
    configuration: d.configuration,
    strategy: d.strategy,
  });
  const events = (await service.events(name, 'staging')).items;
  assert.deepEqual(
    events.map((e) => e.reason),
    ['Created'],
  );
  assert.match(events[0]?.message ?? '', /revision 1 by alice: readmission 1\.3\.0, 2 replicas/);
  await assert.rejects(service.create(input(name), alice), { code: 'ALREADY_EXISTS' });
});

test('list is per environment', async () => {
  const name = uniqueName();
  await service.create(input(name, { environment: 'production' }), alice);
  const production = (await service.list('production')).items.map((d) => d.name);
  assert.ok(production.includes(name));
  assert.ok(!(await service.list('staging')).items.some((d) => d.name === name));
  assert.deepEqual((await service.list('nowhere')).items, []);
});

test('update, scale and rollback each make one numbered revision; diff compares two', async () => {
  const name = uniqueName();
  await service.create(input(name), alice);
  const v2 = await service.update(name, 'staging', { model: { version: '1.4.0' } }, { actor: 'bob' });
  assert.equal(v2.revision, 2);
  assert.equal(v2.model?.version, '1.4.0');
  assert.equal(v2.metadata.deployedBy, 'bob');
  const v3 = await service.scale(name, 'staging', 5, alice);
  assert.equal(v3.revision, 3);
  assert.equal(v3.configuration.replicas, 5);
  const v4 = await service.rollback(name, 'staging', { actor: 'carol', reason: 'latency' });
  assert.equal(v4.revision, 4);
  assert.equal(v4.configuration.replicas, 2, 'rolled back to revision 2: 2 replicas, model 1.4.0');
  assert.equal(v4.model?.version, '1.4.0');
  const v5 = await service.rollback(name, 'staging', { actor: 'carol', toRevision: 1 });
  assert.equal(v5.revision, 5);
  assert.equal(v5.model?.version, '1.3.0');

  const revisions = (await service.listRevisions(name, 'staging')).items;
  assert.deepEqual(
    revisions.map((r) => [r.number, r.createdBy, r.reason]),
    [
      [1, 'alice', 'created'],
      [2, 'bob', 'spec changed: model.version'],
      [3, 'alice', 'scaled from 2 to 5 replicas'],
      [4, 'carol', 'rollback to revision 2: latency'],
      [5, 'carol', 'rollback to revision 1'],
    ],
  );
  const r2 = await service.getRevision(name, 'staging', 2);
  assert.deepEqual((await service.getRevision(name, 'staging', 4)).spec, r2.spec, 'a rollback copies the old spec');
  const events = (await service.events(name, 'staging')).items.map((e) => `${e.reason}: ${e.message}`);
  assert.deepEqual(events, [
    events[0],
    'Updated: revision 2 by bob: model.version: "1.3.0" → "1.4.0"',
    'ScaledUp: revision 3 by alice: scaled from 2 to 5 replicas',
    'RolledBack: revision 4 by carol: rollback to revision 2: latency',
    'RolledBack: revision 5 by carol: rollback to revision 1',
  ]);

  const diff = await service.diff(name, 'staging', 1, 3);
  assert.deepEqual(diff.changes, [
    { path: 'configuration.replicas', from: 2, to: 5 },
    { path: 'model.version', from: '1.3.0', to: '1.4.0' },
  ]);
  assert.equal(diff.text, 'configuration.replicas: 2 → 5\nmodel.version: "1.3.0" → "1.4.0"');
  assert.equal((await service.diff(name, 'staging', 1, 5)).text, 'no changes');
  await assert.rejects(service.getRevision(name, 'staging', 9), { code: 'NOT_FOUND', message: /has no revision 9/ });
});

test('a change that leaves the spec as it is makes no revision and writes nothing', async () => {
  const name = uniqueName();
  const d = await service.create(input(name), alice);
  const before = await snapshot(t.store);
  assert.deepEqual(await service.update(name, 'staging', { configuration: { replicas: 2 } }, alice), d);
  assert.deepEqual(await service.update(name, 'staging', {}, alice), d);
  assert.deepEqual(await service.scale(name, 'staging', 2, alice), d);
  assert.deepEqual(await snapshot(t.store), before);
  assert.equal((await service.listRevisions(name, 'staging')).items.length, 1);
  const relabelled = await service.update(name, 'staging', { metadata: { labels: { team: 'ops' } } }, alice);
  assert.equal(relabelled.revision, 1, 'metadata is not part of the spec');
  assert.deepEqual(relabelled.metadata.labels, { team: 'ops' });
});

test('invalid requests throw INVALID_ARGUMENT naming the field and change nothing', async () => {
  const name = uniqueName();
  await service.create(input(name), alice);
  const before = await snapshot(t.store);
  const failures: [string, () => Promise<unknown>, RegExp][] = [
    [
      'unknown environment',
      () => service.create(input(uniqueName(), { environment: 'mars' }), alice),
      /^environment: no environment named "mars"$/,
    ],
    [
      'unknown model version',
      () => service.create(input(uniqueName(), { model: { name: 'readmission', version: '9.9.9' } }), alice),
      /^model\.version: model "readmission" has no version "9\.9\.9"$/,
    ],
    [
      'unknown model',
      () => service.create(input(uniqueName(), { model: { name: 'nope', version: '1.0.0' } }), alice),
      /^model\.version: model "nope" has no version/,
    ],
    [
      'replicas above 100',
      () => service.create(input(uniqueName(), { configuration: { replicas: 101 } }), alice),
      /^configuration\.replicas: must be an integer from 0 to 100, got 101$/,
    ],
    ['a name that is not a DNS label', () => service.create(input('Bad_Name'), alice), /^name: must be a DNS label/],
    ['no actor', () => service.create(input(uniqueName()), { actor: '' }), /^actor: /],
    [
      'scale to 101',
      () => service.scale(name, 'staging', 101, alice),
      /^configuration\.replicas: must be an integer from 0 to 100, got 101$/,
    ],
    ['scale to 1.5', () => service.scale(name, 'staging', 1.5, alice), /^configuration\.replicas: /],
    [
      'update to an unknown version',
      () => service.update(name, 'staging', { model: { version: '2.0.0' } }, alice),
      /^model\.version: model "readmission" has no version "2\.0\.0"$/,
    ],
    [
      'update with a misspelt field',
      () => service.update(name, 'staging', { configuration: { replica: 3 } } as never, alice),
      /^configuration\.replica: unknown field/,
    ],
    [
      'rollback with no earlier revision',
      () => service.rollback(name, 'staging', alice),
      /^toRevision: there is no earlier revision to roll back to/,
    ],
  ];
  for (const [what, call, message] of failures) {
    await assert.rejects(call(), (e: Error & { code?: string }) => {
      assert.equal(e.code, 'INVALID_ARGUMENT', `${what}: ${e.message}`);
      assert.match(e.message, message, what);
      return true;
    });
  }
  assert.deepEqual(await snapshot(t.store), before, 'no failed request wrote anything');
  await assert.rejects(service.get('nope', 'staging'), {
    code: 'NOT_FOUND',
    message: 'deployment "nope" not found in environment "staging"',
  });
  await assert.rejects(service.scale('nope', 'staging', 1, alice), { code: 'NOT_FOUND' });
});

test('rollback validates the target revision', async () => {
  const name = uniqueName();
  await service.create(input(name), alice);
  await service.scale(name, 'staging', 3, alice);
  for (const toRevision of [0, 2, 3, 1.5]) {
    await assert.rejects(service.rollback(name, 'staging', { ...alice, toRevision }), {
      code: 'INVALID_ARGUMENT',
      message: /^toRevision: must be an earlier revision, from 1 to 1/,
    });
  }
});

test('a stale expectedResourceVersion is a CONFLICT; the current one applies', async () => {
  const name = uniqueName();
  const d = await service.create(input(name), alice);
  const v2 = await service.scale(name, 'staging', 3, { ...alice, expectedResourceVersion: d.resourceVersion });
  assert.equal(v2.revision, 2);
  await assert.rejects(service.scale(name, 'staging', 4, { ...alice, expectedResourceVersion: d.resourceVersion }), {
    code: 'CONFLICT',
  });
  await assert.rejects(
    service.update(
      name,
      'staging',
      { model: { version: '1.4.0' } },
      { ...alice, expectedResourceVersion: d.resourceVersion },
    ),
    { code: 'CONFLICT' },
  );
  await assert.rejects(service.delete(name, 'staging', { ...alice, expectedResourceVersion: d.resourceVersion }), {
    code: 'CONFLICT',
  });
  assert.equal((await service.get(name, 'staging')).revision, 2);
});

test('delete marks the deployment; further spec changes are refused; delete is idempotent', async () => {
  const name = uniqueName();
  await service.create(input(name), alice);
  const marked = await service.delete(name, 'staging', alice);
  assert.ok(deletionRequestedAt(marked) !== undefined);
  assert.equal(marked.revision, 1, 'no revision for a deletion');
  assert.deepEqual(await service.delete(name, 'staging', alice), marked, 'a second delete changes nothing');
  await assert.rejects(service.scale(name, 'staging', 3, alice), {
    code: 'INVALID_ARGUMENT',
    message: /is being deleted/,
  });
  await assert.rejects(service.create(input(name), alice), { code: 'ALREADY_EXISTS' });
  const events = (await service.events(name, 'staging')).items.map((e) => e.reason);
  assert.deepEqual(events, ['Created', 'DeletionRequested']);
});

test('without expectedResourceVersion a conflicting concurrent write is retried on fresh data', async () => {
  const name = uniqueName();
  const d = await service.create(input(name), alice);
  // A store whose transactions first lose a race to a status write (as on PostgreSQL, where the
  // controller's write can commit between the service's read and its update).
  let races = 0;
  const racy = new Proxy(t.store, {
    get(target, prop, receiver) {
      if (prop !== 'transaction') return Reflect.get(target, prop, receiver) as unknown;
      return async (fn: Parameters<Store['transaction']>[0]): Promise<unknown> => {
        if (races++ === 0) {
          const current = await target.deployments.get(d.id);
          const written = await target.deployments.update({
            ...current,
            status: { ...current.status, message: 'controller wrote first' },
          });
          throw new ConflictError('Deployment', d.id, current.resourceVersion, written.resourceVersion);
        }
        return target.transaction(fn);
      };
    },
  });
  const racyService = new DeploymentService(racy);
  const scaled = await racyService.scale(name, 'staging', 3, alice);
  assert.equal(scaled.revision, 2);
  assert.equal(scaled.status.message, 'controller wrote first', 'the retry read fresh data');
  assert.equal(races, 2, 'one retry');
  races = 0;
  await assert.rejects(
    racyService.scale(name, 'staging', 4, { ...alice, expectedResourceVersion: scaled.resourceVersion }),
    { code: 'CONFLICT' },
  );
  assert.equal((await service.get(name, 'staging')).revision, 2, 'with an expected version the conflict is the answer');
});

test("scaling an autoscaled deployment is refused naming configuration.replicas and the autoscaler's bounds; 0 still stops it", async () => {
  const name = uniqueName();
  await service.create(input(name, { configuration: { replicas: 2, scaling: { min: 1, max: 4 } } }), alice);
  const before = await snapshot(t.store);
  await assert.rejects(service.scale(name, 'staging', 3, alice), (e: Error & { code?: string }) => {
    assert.equal(e.code, 'INVALID_ARGUMENT');
    assert.match(
      e.message,
      /^configuration\.replicas: deployment "svc-\d+" is autoscaled: the autoscaler sizes it between min 1 and max 4/,
    );
    assert.match(e.message, /wharf deploy autoscale/);
    return true;
  });
  await assert.rejects(service.checkScale(name, 'staging', 3), { code: 'INVALID_ARGUMENT' });
  assert.deepEqual(await snapshot(t.store), before, 'the refused scale wrote nothing');
  const stopped = await service.scale(name, 'staging', 0, alice);
  assert.equal(stopped.configuration.replicas, 0, 'a stop is accepted');
  const started = await service.scale(name, 'staging', 2, alice);
  assert.equal(started.configuration.replicas, 2, 'and so is starting it again, within the bounds');
  await service.checkScale(name, 'staging', 0);
});
