/**
 * The deployment controller end to end over a real SQLite store and an in-memory fake runtime
 * (`support/fake-runtime.ts`; the real local runtime has its own contract suite): deploy, scale,
 * update with replacement that keeps serving, rollback, delete, crash loops, a control-plane restart
 * in the middle of a deploy, and the route table compiled from all of it.
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import type { Controller } from '../src/controller/controller.js';
import { createDeploymentController } from '../src/controller/deployment-controller.js';
import { DeploymentService } from '../src/services/deployment-service.js';
import { RoutePublisher } from '../src/controller/reconcilers/route-publisher.js';
import type { DeploymentInput } from '../src/core/deployment-spec.js';
import type { Deployment, DeploymentPhase } from '../src/core/resources.js';
import type { RouteTable } from '../src/protocol/route-table.js';
import { parseRouteTable } from '../src/gateway/table-validation.js';
import { FakeRuntime } from './support/fake-runtime.js';
import { DIGESTS, seededStore, type TestStore } from './support/deployment-fixtures.js';
import { eventually } from './support/eventually.js';

const alice = { actor: 'alice' };

interface Harness extends TestStore {
  runtime: FakeRuntime;
  service: DeploymentService;
  errors: string[];
  /** A new controller on the same store and runtime, started. */
  startController(): Promise<Controller>;
  /** A probe for `eventually`: deployment `name` in staging once it matches `check`. */
  deployment(name: string, check: (d: Deployment) => boolean): () => Promise<Deployment>;
}

async function harness(t: TestContext, readyAfterMs = 30): Promise<Harness> {
  const ts = await seededStore();
  const runtime = new FakeRuntime({ readyAfterMs });
  const service = new DeploymentService(ts.store);
  const errors: string[] = [];
  const controllers: Controller[] = [];
  const h: Harness = {
    ...ts,
    runtime,
    service,
    errors,
    startController: async () => {
      const controller = createDeploymentController({
        store: ts.store,
        runtime,
        artifactPath: (digest) => `/blobs/${digest.slice('sha256:'.length)}`,
        pollIntervalMs: 20,
        failedPollIntervalMs: 40,
        resyncIntervalMs: 1_000,
        queue: { baseDelayMs: 10, maxDelayMs: 100 },
        onError: (key, e) => void errors.push(`${key}: ${e instanceof Error ? e.message : String(e)}`),
      });
      controllers.push(controller);
      await controller.start();
      return controller;
    },
    deployment: (name, check) => async () => {
      const last = await service.get(name, 'staging').catch(() => undefined);
      assert.ok(
        last !== undefined && check(last),
        `last status: ${JSON.stringify(last?.status)}; workloads: ${runtime.keys().join(', ')}; errors: ${errors.join(' | ')}`,
      );
      return last;
    },
  };
  t.after(async () => {
    for (const c of controllers) await c.stop();
    await ts.cleanup();
  });
  return h;
}

const input = (name: string, replicas = 2, version = '1.3.0'): DeploymentInput => ({
  name,
  environment: 'staging',
  model: { name: 'readmission', version },
  configuration: { replicas },
});

const phaseIs = (phase: DeploymentPhase, revision: number, ready?: number) => (d: Deployment) =>
  d.status.phase === phase &&
  d.status.observedRevision === revision &&
  (ready === undefined || d.status.readyReplicas === ready);

test('create converges to running with N ready replicas; events tell the story', async (t) => {
  const h = await harness(t);
  await h.startController();
  await h.service.create(input('alpha', 2), alice);
  const d = await eventually(h.deployment('alpha', phaseIs('running', 1, 2)), {
    timeoutMs: 5_000,
    message: 'alpha running 2/2',
  });
  assert.equal(d.status.message, '2/2 replicas ready');
  assert.deepEqual(
    d.status.conditions.map((c) => [c.type, c.status, c.reason]),
    [
      ['Available', 'True', 'ReplicasReady'],
      ['Progressing', 'False', 'RevisionAvailable'],
    ],
  );
  assert.deepEqual(h.runtime.keys(), ['staging/alpha@1']);
  assert.equal(h.runtime.replicaCount('staging', 'alpha'), 2);
  const workload = h.runtime.applies.at(-1);
  assert.deepEqual(workload?.model, {
    name: 'alpha',
    version: '1.3.0',
    artifactPath: `/blobs/${'13'.repeat(32)}`,
    digest: DIGESTS['1.3.0'],
  });
  assert.equal(workload?.readiness.path, '/v2/health/ready');
  assert.equal(workload?.liveness.path, '/v2/health/live');
  assert.equal(workload?.readiness.intervalMs, 5_000);
  const events = (await h.service.events('alpha', 'staging')).items.map((e) => e.reason);
  assert.deepEqual(events, ['Created', 'Deploying', 'Running']);
  assert.deepEqual(h.errors, []);
});

test('a scale resizes the running workload; an update replaces it, removing the old one only once the new one is ready', async (t) => {
  const h = await harness(t, 150);
  await h.startController();
  await h.service.create(input('beta', 2), alice);
  await eventually(h.deployment('beta', phaseIs('running', 1, 2)), { timeoutMs: 5_000, message: 'beta running' });

  // Revision 2 differs from 1 only in replicas: the same workload grows, nothing is replaced.
  const appliesBefore = h.runtime.applies.length;
  await h.service.scale('beta', 'staging', 3, alice);
  await eventually(
    h.deployment('beta', (d) => phaseIs('running', 2, 3)(d) && h.runtime.replicaCount('staging', 'beta') === 3),
    { timeoutMs: 5_000, message: 'beta running 3/3 at revision 2' },
  );
  assert.deepEqual(h.runtime.keys(), ['staging/beta@1'], "the scale kept revision 1's workload");
  assert.ok(
    h.runtime.applies.slice(appliesBefore).every((w) => w.key.revision === 1 && w.replicas === 3),
    'the scale applied workload 1 with 3 replicas',
  );
  assert.equal(h.runtime.removals.length, 0, 'nothing was removed by the scale');

  await h.service.update('beta', 'staging', { model: { version: '1.4.0' } }, alice);
  const during = await eventually(h.deployment('beta', phaseIs('deploying', 3)), {
    timeoutMs: 5_000,
    message: 'beta deploying revision 3',
  });
  assert.match(
    during.status.message ?? '',
    /^rolling update to revision 3: new [0-3]\/3 ready, old [0-3] ready \(maxSurge 1, maxUnavailable 0\)$/,
  );
  await eventually(
    h.deployment('beta', (d) => phaseIs('running', 3, 3)(d) && h.runtime.keys().length === 1),
    { timeoutMs: 5_000, message: 'beta running revision 3' },
  );
  assert.deepEqual(h.runtime.keys(), ['staging/beta@3']);
  assert.equal(h.runtime.applies.at(-1)?.model?.version, '1.4.0');

  assert.deepEqual(
    h.runtime.removals.map((r) => r.key.revision),
    [1],
  );
  for (const removal of h.runtime.removals) {
    assert.ok(
      removal.newest !== undefined &&
        removal.newest.readyReplicas === removal.newest.desiredReplicas &&
        removal.newest.desiredReplicas === 3,
      `revision ${removal.key.revision} was removed while its successor was ${JSON.stringify(removal.newest)}`,
    );
  }
  assert.deepEqual(h.errors, []);
});

test('rollback makes a new revision with the old spec and reads rolling-back until ready', async (t) => {
  const h = await harness(t, 120);
  await h.startController();
  await h.service.create(input('gamma', 1, '1.3.0'), alice);
  await eventually(h.deployment('gamma', phaseIs('running', 1)), { timeoutMs: 5_000, message: 'gamma running' });
  await h.service.update('gamma', 'staging', { model: { version: '1.4.0' } }, alice);
  await eventually(
    h.deployment('gamma', (d) => phaseIs('running', 2)(d) && h.runtime.keys().length === 1),
    { timeoutMs: 5_000, message: 'gamma running revision 2' },
  );

  await h.service.rollback('gamma', 'staging', alice);
  await eventually(h.deployment('gamma', phaseIs('rolling-back', 3)), {
    timeoutMs: 5_000,
    message: 'gamma rolling-back',
  });
  await eventually(
    h.deployment('gamma', (d) => phaseIs('running', 3, 1)(d) && h.runtime.keys().length === 1),
    { timeoutMs: 5_000, message: 'gamma running revision 3' },
  );
  assert.deepEqual(h.runtime.keys(), ['staging/gamma@3']);
  assert.equal(h.runtime.applies.at(-1)?.model?.version, '1.3.0');
  const events = (await h.service.events('gamma', 'staging')).items.map((e) => e.reason);
  assert.ok(events.includes('RolledBack') && events.includes('RollingBack'), events.join(', '));
});

test('scaling to zero stops everything; delete removes the workloads and then the record', async (t) => {
  const h = await harness(t);
  await h.startController();
  const d = await h.service.create(input('delta', 2), alice);
  await eventually(h.deployment('delta', phaseIs('running', 1, 2)), { timeoutMs: 5_000, message: 'delta running' });
  await h.service.scale('delta', 'staging', 0, alice);
  const stopped = await eventually(
    h.deployment('delta', (x) => phaseIs('stopped', 2)(x) && h.runtime.keys().length === 0),
    { timeoutMs: 5_000, message: 'delta stopped' },
  );
  assert.equal(stopped.status.message, 'stopped (0 replicas)');
  await h.service.scale('delta', 'staging', 1, alice);
  await eventually(h.deployment('delta', phaseIs('running', 3, 1)), {
    timeoutMs: 5_000,
    message: 'delta running again',
  });

  await h.service.delete('delta', 'staging', alice);
  await eventually(async () => (await h.store.deployments.get(d.id).catch(() => undefined)) === undefined, {
    timeoutMs: 5_000,
    message: 'the record to go',
  });
  assert.deepEqual(h.runtime.keys(), []);
  assert.deepEqual((await h.store.revisions.list({ deployment: d.id })).items, [], 'revisions went with it');
  assert.deepEqual((await h.store.events.list({ deployment: d.id })).items, [], 'events went with it');
  // The name is free again.
  await h.service.create(input('delta', 1), alice);
  await eventually(h.deployment('delta', phaseIs('running', 1, 1)), {
    timeoutMs: 5_000,
    message: 'delta running as new',
  });
});

test('a crash-looping revision fails with a message while the old one keeps serving; it recovers', async (t) => {
  const h = await harness(t);
  await h.startController();
  await h.service.create(input('eps', 2), alice);
  await eventually(h.deployment('eps', phaseIs('running', 1, 2)), { timeoutMs: 5_000, message: 'eps running' });
  h.runtime.crashLoop(
    (key) => key.deployment === 'eps' && key.revision === 2,
    'replica exited with code 1 (5 restarts)',
  );
  await h.service.update('eps', 'staging', { model: { version: '1.4.0' } }, alice);
  const failed = await eventually(h.deployment('eps', phaseIs('failed', 2)), {
    timeoutMs: 5_000,
    message: 'eps failed',
  });
  assert.equal(
    failed.status.message,
    'revision 2 is crash-looping: replica exited with code 1 (5 restarts); older revisions keep serving',
  );
  assert.deepEqual(h.runtime.keys(), ['staging/eps@1', 'staging/eps@2'], 'the old revision is not removed');
  const events = (await h.service.events('eps', 'staging')).items;
  assert.deepEqual(
    events.filter((e) => e.reason === 'Failed').map((e) => e.type),
    ['Warning'],
  );

  h.runtime.crashLoop(undefined);
  await eventually(
    h.deployment('eps', (d) => phaseIs('running', 2, 2)(d) && h.runtime.keys().length === 1),
    { timeoutMs: 5_000, message: 'eps recovered' },
  );
  assert.deepEqual(h.runtime.keys(), ['staging/eps@2']);
});

test('a control-plane restart in the middle of a deploy converges with exactly the desired replicas', async (t) => {
  const h = await harness(t, 30);
  const first = await h.startController();
  await h.service.create(input('zeta', 3), alice);
  await eventually(h.deployment('zeta', phaseIs('running', 1, 3)), { timeoutMs: 5_000, message: 'zeta running' });

  // Revision 2 starts slowly; stop the controller while both revisions run.
  h.runtime.readyAfterMs = 300;
  await h.service.update('zeta', 'staging', { model: { version: '1.4.0' } }, alice);
  await eventually(() => h.runtime.keys().includes('staging/zeta@2'), {
    timeoutMs: 5_000,
    message: 'revision 2 to be applied',
  });
  await first.stop();
  assert.deepEqual(h.runtime.keys(), ['staging/zeta@1', 'staging/zeta@2'], 'stopped mid-replacement');

  // A stray of a deployment whose record is gone (e.g. deleted while the control plane was down).
  await h.runtime.apply({
    ...h.runtime.applies.at(-1)!,
    key: { environment: 'staging', deployment: 'ghost', revision: 4 },
  });

  const appliesBefore = h.runtime.applies.length;
  await h.startController();
  await eventually(
    h.deployment('zeta', (d) => phaseIs('running', 2, 3)(d) && h.runtime.keys().length === 1),
    { timeoutMs: 5_000, message: 'zeta running after restart' },
  );
  await eventually(() => h.runtime.keys().length === 1, { timeoutMs: 5_000, message: 'the stray to go' });
  assert.deepEqual(h.runtime.keys(), ['staging/zeta@2']);
  assert.equal(h.runtime.replicaCount('staging', 'zeta'), 3, 'exactly the desired replicas');
  assert.equal(
    h.runtime.started.get('staging/zeta@2'),
    3,
    'the new controller adopted revision 2: no replica started twice',
  );
  assert.ok(h.runtime.applies.length > appliesBefore, 'the new controller re-applied (idempotently)');
  const removal = h.runtime.removals.find((r) => r.key.deployment === 'zeta');
  assert.deepEqual(
    removal?.newest,
    { revision: 2, readyReplicas: 3, desiredReplicas: 3 },
    'old replicas went only after the new were ready',
  );
});

test('a controller stopped inside a reconcile leaves nothing a new one cannot finish', async (t) => {
  const h = await harness(t, 30);
  const first = await h.startController();
  let release: (() => void) | undefined;
  const held = new Promise<void>((resolve) => (release = resolve));
  let entered = false;
  h.runtime.beforeApply = async (w) => {
    entered = true;
    if (w.key.deployment === 'eta') await held;
  };
  await h.service.create(input('eta', 2), alice);
  await eventually(() => entered, { timeoutMs: 5_000, message: 'the apply to be in flight' });
  assert.equal(h.runtime.applies.length, 0);
  const stopping = first.stop();
  release?.();
  await stopping;
  h.runtime.beforeApply = undefined;

  await h.startController();
  await eventually(h.deployment('eta', phaseIs('running', 1, 2)), {
    timeoutMs: 5_000,
    message: 'eta running after restart',
  });
  assert.deepEqual(h.runtime.keys(), ['staging/eta@1']);
  assert.equal(h.runtime.started.get('staging/eta@1'), 2, 'no duplicate replicas');
});

test('the route publisher serves the old revision until the new one is ready and bumps the version per change', async (t) => {
  const h = await harness(t, 150);
  await h.startController();
  let clock = 1_000;
  const publisher = new RoutePublisher({
    store: h.store,
    runtime: h.runtime,
    refreshIntervalMs: 20,
    clock: () => clock,
  });
  const seen: RouteTable[] = [];
  publisher.subscribe((table) => seen.push(table));
  await publisher.start();
  t.after(() => publisher.stop());
  assert.deepEqual(publisher.current(), { version: 1_000, routes: [] });

  await h.service.create(input('routed', 2), alice);
  await h.service.create({ ...input('other', 1), environment: 'production' }, alice);
  await eventually(h.deployment('routed', phaseIs('running', 1, 2)), { timeoutMs: 5_000, message: 'routed running' });
  await eventually(
    () =>
      publisher.current().routes.every((r) => r.targets[0]?.backends.length === (r.deployment === 'routed' ? 2 : 1)),
    { timeoutMs: 5_000, message: 'both routes complete' },
  );
  const table = parseRouteTable(JSON.parse(JSON.stringify(publisher.current())));
  assert.deepEqual(
    table.routes.map((r) => [
      r.environment,
      r.deployment,
      r.targets.map((x) => [x.revision, x.weight, x.model.name, x.model.version, x.backends.length]),
    ]),
    [
      ['production', 'other', [[1, 100, 'other', '1.3.0', 1]]],
      ['staging', 'routed', [[1, 100, 'routed', '1.3.0', 2]]],
    ],
  );
  const routedBackends = table.routes[1]?.targets[0]?.backends ?? [];
  assert.ok(
    routedBackends.every((b) => b.id.startsWith('staging/routed@1#') && /^http:\/\/127\.0\.0\.1:\d+$/.test(b.url)),
    JSON.stringify(routedBackends),
  );

  // Versions strictly increase; an unchanged table is not republished.
  const versions = seen.map((s) => s.version);
  assert.deepEqual(
    versions,
    versions.map((_, i) => 1_000 + i),
    'max(previous + 1, clock) with a stopped clock',
  );
  const quiet = publisher.current().version;
  // Two whole recompiles with nothing changed (the timer's refreshes run the same path).
  await publisher.refresh();
  await publisher.refresh();
  assert.equal(publisher.current().version, quiet, 'no change, no new table');

  // During the replacement the route keeps pointing at revision 1 with all its backends.
  clock = 5_000;
  await h.service.update('routed', 'staging', { model: { version: '1.4.0' } }, alice);
  await eventually(h.deployment('routed', phaseIs('deploying', 2)), {
    timeoutMs: 5_000,
    message: 'routed deploying revision 2',
  });
  await publisher.refresh();
  const midway = publisher.current().routes.find((r) => r.deployment === 'routed');
  assert.deepEqual(
    midway?.targets.map((x) => [x.revision, x.model.version, x.backends.length]),
    [[1, '1.3.0', 2]],
  );
  await eventually(h.deployment('routed', phaseIs('running', 2, 2)), {
    timeoutMs: 5_000,
    message: 'routed running revision 2',
  });
  await eventually(
    () => publisher.current().routes.find((r) => r.deployment === 'routed')?.targets[0]?.revision === 2,
    { timeoutMs: 5_000, message: 'the route to switch' },
  );
  const switched = publisher.current();
  assert.ok(switched.version >= 5_000, 'the clock moves versions forward (restarts never go back)');
  assert.deepEqual(
    switched.routes
      .find((r) => r.deployment === 'routed')
      ?.targets.map((x) => [x.revision, x.model.version, x.backends.length]),
    [[2, '1.4.0', 2]],
  );
  const revisionsServed = seen.flatMap((s) =>
    s.routes.filter((r) => r.deployment === 'routed').map((r) => r.targets[0]?.revision ?? 0),
  );
  assert.ok(
    !revisionsServed.slice(revisionsServed.indexOf(1)).includes(0),
    `never without a target during the replacement: ${revisionsServed.join(',')}`,
  );

  // A deleted deployment's route goes at once.
  await h.service.delete('routed', 'staging', alice);
  await eventually(() => !publisher.current().routes.some((r) => r.deployment === 'routed'), {
    timeoutMs: 5_000,
    message: 'the route to go',
  });
  assert.deepEqual(
    publisher.current().routes.map((r) => r.deployment),
    ['other'],
  );
});
