/**
 * The autoscaler over a real SQLite store with scripted traffic and a clock it is handed: it sizes
 * an autoscaled deployment from what the gateways report, explains each change in an event, scales
 * an idle deployment to zero and back on demand, keeps its size across a restart without scaling
 * down early, and gives fixed-size deployments CPU / memory advice only. The deployment
 * controller (over the fake runtime) turns the decisions into replicas.
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { AUTOSCALER_DEFAULTS, AutoscalerReconciler } from '../src/controller/reconcilers/autoscaler-reconciler.js';
import { createDeploymentController } from '../src/controller/deployment-controller.js';
import { DeploymentService } from '../src/services/deployment-service.js';
import type { DeploymentInput } from '../src/core/deployment-spec.js';
import type { AutoscalerState, DeploymentConfiguration } from '../src/core/resources.js';
import type { DeploymentTraffic, DeploymentWindow, MetricsSource } from '../src/metrics/metrics-source.js';
import type { ReplicaUsage, WorkloadKey } from '../src/runtime/runtime.js';
import { seededStore } from './support/deployment-fixtures.js';
import { FakeRuntime } from './support/fake-runtime.js';
import { eventually } from './support/eventually.js';

/** Traffic the test sets; every window answers the same figures (the test controls the clock). */
class ScriptedMetrics implements MetricsSource {
  readonly name = 'scripted';
  traffic: Omit<DeploymentTraffic, 'coveredMs'> & { coveredMs?: number } = {
    requestRate: 0,
    concurrency: 0,
    responses: 0,
    inFlight: 0,
    held: 0,
  };
  readonly asked: DeploymentWindow[] = [];
  /** The value the custom metric's PromQL query returns (undefined: no data). */
  custom: number | undefined;
  readonly queries: string[] = [];
  query(promql: string): Promise<number | undefined> {
    this.queries.push(promql);
    return Promise.resolve(this.custom);
  }
  revision(): never {
    throw new Error('not used');
  }
  shadow(): never {
    throw new Error('not used');
  }
  deployment(w: DeploymentWindow): Promise<DeploymentTraffic> {
    this.asked.push(w);
    return Promise.resolve({ coveredMs: w.windowMs, ...this.traffic });
  }
}

/** The fake runtime, reporting a fixed usage per replica. */
class UsageRuntime extends FakeRuntime {
  override readonly capabilities = { ...new FakeRuntime().capabilities, usage: true };
  perReplica = { cpuCores: 0.2, memoryBytes: 300 * 2 ** 20 };
  async usage(key: WorkloadKey): Promise<ReplicaUsage[]> {
    const status = await this.observe(key);
    return (status?.replicas ?? []).map((r) => ({ replica: r.id, ...this.perReplica, time: Date.now() }));
  }
}

async function harness(t: TestContext) {
  const ts = await seededStore();
  const runtime = new UsageRuntime({ readyAfterMs: 10 });
  const metrics = new ScriptedMetrics();
  let clock = Date.parse('2026-12-01T10:00:00Z');
  // The autoscaler's clock also dates the deployments (their creation time bounds lastRequestAt).
  const service = new DeploymentService(ts.store, { now: () => new Date(clock) });
  const errors: string[] = [];
  const controller = createDeploymentController({
    store: ts.store,
    runtime,
    artifactPath: (d) => `/blobs/${d}`,
    pollIntervalMs: 20,
    resyncIntervalMs: 1_000,
    queue: { baseDelayMs: 10, maxDelayMs: 100 },
    onError: (k, e) => void errors.push(`${k}: ${(e as Error).message}`),
  });
  await controller.start();
  const autoscalers: AutoscalerReconciler[] = [];
  // Driven step by step on the test's clock: `tick()` is one pass of the reconciler over every
  // deployment (what the controller loop does over one interval); `stop()` waits for evaluations.
  const newAutoscaler = () => {
    const reconciler = new AutoscalerReconciler({
      store: ts.store,
      metrics,
      runtime,
      now: () => clock,
      usageIntervalMs: 1_000,
      recommendIntervalMs: 10_000,
      onError: (id, e) => void errors.push(`${id}: ${(e as Error).message}`),
    });
    autoscalers.push(reconciler);
    return {
      tick: () => reconciler.reconcileAll(),
      activate: (environment: string, name: string) => reconciler.activate(environment, name),
      stop: () => reconciler.idle(),
    };
  };
  t.after(async () => {
    for (const a of autoscalers) await a.idle();
    await controller.stop();
    await ts.cleanup();
  });
  const create = (name: string, configuration: DeploymentInput['configuration']) =>
    service.create(
      { name, environment: 'staging', model: { name: 'readmission', version: '1.4.0' }, configuration },
      { actor: 'alice' },
    );
  const state = (name: string): Promise<AutoscalerState | undefined> =>
    ts.store.autoscalers.get(`staging.${name}`).catch(() => undefined);
  const events = async (name: string) =>
    (await ts.store.events.list({ deployment: `staging.${name}`, limit: 500 })).items;
  const replicasRunning = async (name: string) =>
    (await runtime.list()).filter((w) => w.key.deployment === name).reduce((n, w) => n + w.desiredReplicas, 0);
  return {
    ts,
    runtime,
    service,
    metrics,
    errors,
    create,
    state,
    events,
    replicasRunning,
    newAutoscaler,
    advance: (ms: number) => {
      clock += ms;
    },
    now: () => clock,
  };
}

const scaling = (s: Partial<DeploymentConfiguration['scaling']>) => ({
  replicas: 1,
  scaling: { min: 1, max: 10, ...s },
});

test('a rise in concurrency scales up at once (panic window), with an event that explains the decision', async (t) => {
  const h = await harness(t);
  await h.create('risk', scaling({ metric: 'concurrency', target: 4 }));
  const autoscaler = h.newAutoscaler();
  await autoscaler.tick();
  assert.equal((await h.state('risk'))?.desiredReplicas, 1, 'no traffic: the spec size');

  h.metrics.traffic = {
    requestRate: 200,
    concurrency: 18,
    responses: 1000,
    inFlight: 18,
    held: 0,
    lastRequestAt: h.now(),
  };
  h.advance(500);
  await autoscaler.tick();
  const s = await h.state('risk');
  assert.ok(
    s !== undefined && s.desiredReplicas === 5,
    `18 in flight / target 4 → 5 replicas, got ${s?.desiredReplicas}`,
  );
  assert.equal(s.lastDecision?.from, 1);
  assert.equal(s.lastDecision?.to, 5);
  assert.equal(s.lastDecision?.metric, 'concurrency');
  assert.equal(s.lastDecision?.target, 4);
  const scaled = (await h.events('risk')).find((e) => e.reason === 'ScaledUp');
  assert.ok(scaled !== undefined, 'a ScaledUp event');
  assert.match(scaled.message, /in-flight/);
  assert.match(scaled.message, /5/);
  await eventually(async () => (await h.replicasRunning('risk')) === 5, {
    timeoutMs: 5_000,
    message: 'the controller to run 5 replicas',
  });
  const revisions = (await h.ts.store.revisions.list({ deployment: 'staging.risk' })).items;
  assert.equal(revisions.length, 1, 'scaling makes no revision');
});

test('scale-down waits for the stabilization period, and a restarted autoscaler does not scale down early', async (t) => {
  const h = await harness(t);
  await h.create('risk', scaling({ metric: 'rps', target: 50, scaleDownDelay: 60 }));
  let autoscaler = h.newAutoscaler();
  h.metrics.traffic = {
    requestRate: 400,
    concurrency: 4,
    responses: 4000,
    inFlight: 4,
    held: 0,
    lastRequestAt: h.now(),
  };
  await autoscaler.tick();
  h.advance(500);
  await autoscaler.tick();
  assert.equal((await h.state('risk'))?.desiredReplicas, 8, '400 req/s / 50 → 8');

  h.metrics.traffic = { ...h.metrics.traffic, requestRate: 100, lastRequestAt: h.now() };
  h.advance(10_000);
  await autoscaler.tick();
  assert.equal((await h.state('risk'))?.desiredReplicas, 8, 'still 8 within the 60 s scale-down delay');

  await autoscaler.stop();
  autoscaler = h.newAutoscaler(); // a control-plane restart
  h.advance(55_000);
  await autoscaler.tick();
  assert.equal((await h.state('risk'))?.desiredReplicas, 8, 'the restarted autoscaler keeps 8 for its own delay');
  h.advance(61_000);
  h.metrics.traffic = { ...h.metrics.traffic, lastRequestAt: h.now() };
  await autoscaler.tick();
  assert.equal((await h.state('risk'))?.desiredReplicas, 2, 'after the delay: 100 / 50 → 2');
  assert.ok((await h.events('risk')).some((e) => e.reason === 'ScaledDown'));
});

test('an idle deployment with min 0 scales to zero; held demand brings one replica back at once', async (t) => {
  const h = await harness(t);
  await h.create('lazy', scaling({ min: 0, max: 3, idleTimeout: 30 }));
  const autoscaler = h.newAutoscaler();
  h.metrics.traffic = { requestRate: 0, concurrency: 0, responses: 0, inFlight: 0, held: 0, lastRequestAt: h.now() };
  await autoscaler.tick();
  await eventually(async () => (await h.replicasRunning('lazy')) === 1, {
    timeoutMs: 5_000,
    message: 'one replica first',
  });
  h.advance(31_000);
  await autoscaler.tick();
  assert.equal((await h.state('lazy'))?.desiredReplicas, 0);
  assert.ok((await h.events('lazy')).some((e) => e.reason === 'ScaledToZero'));
  await eventually(async () => (await h.replicasRunning('lazy')) === 0, {
    timeoutMs: 5_000,
    message: 'no replica at zero',
  });
  const atZero = await h.service.get('lazy', 'staging');
  assert.equal(atZero.status.phase, 'running', 'scaled to zero is not stopped');
  assert.match(atZero.status.message ?? '', /scaled to zero/);

  h.advance(5_000);
  assert.equal(await autoscaler.activate('staging', 'lazy'), true);
  assert.equal((await h.state('lazy'))?.desiredReplicas, 1, 'activation: one replica');
  const from = (await h.events('lazy')).find((e) => e.reason === 'ScaledFromZero');
  assert.ok(from !== undefined, 'a ScaledFromZero event');
  await eventually(async () => (await h.replicasRunning('lazy')) === 1, {
    timeoutMs: 5_000,
    message: 'a replica again',
  });
  assert.equal(await autoscaler.activate('staging', 'nothing'), false, 'unknown deployment');
});

test('fixed-size deployments are not resized but get CPU and memory recommendations', async (t) => {
  const h = await harness(t);
  await h.create('fixed', { replicas: 2, resources: { cpu: '1', memory: '1Gi' } });
  const autoscaler = h.newAutoscaler();
  await eventually(async () => (await h.replicasRunning('fixed')) === 2, { timeoutMs: 5_000, message: 'two replicas' });
  for (let i = 0; i < 30; i++) {
    h.advance(1_000);
    await autoscaler.tick();
  }
  h.advance(10_000);
  await autoscaler.tick();
  const s = await h.state('fixed');
  assert.ok(s?.recommendation !== undefined, 'a recommendation after enough samples');
  assert.equal(s.desiredReplicas, 2);
  assert.equal(s.lastDecision, undefined, 'no scaling decision for a fixed size');
  assert.equal(s.recommendation.change.cpu, 'lower', `0.2 cores used of 1 requested: ${s.recommendation.basis}`);
  assert.equal(s.recommendation.change.memory, 'lower');
  assert.match(s.recommendation.cpu, /m$/);
  assert.equal(h.errors.length, 0, h.errors.join('\n'));
});

test('an open schedule raises the floor, named in the decision', async (t) => {
  const h = await harness(t);
  // 10:00 UTC on a Tuesday: inside 09:00–17:00 Monday to Friday.
  await h.create(
    'office',
    scaling({
      min: 1,
      max: 10,
      schedules: [{ name: 'office-hours', start: '0 9 * * 1-5', end: '0 17 * * 1-5', timezone: 'UTC', min: 4 }],
    }),
  );
  const autoscaler = h.newAutoscaler();
  h.metrics.traffic = { requestRate: 1, concurrency: 0.1, responses: 10, inFlight: 0, held: 0, lastRequestAt: h.now() };
  await autoscaler.tick();
  const s = await h.state('office');
  assert.equal(s?.desiredReplicas, 4, "the schedule's min");
  assert.equal(s?.schedule?.name, 'office-hours');
  assert.equal(s?.lastDecision?.rule, 'bounds');
  assert.match(s?.lastDecision?.message ?? '', /office-hours/);
});

test('predictive scaling: a rising request rate is forecast, the forecast and its error are in status, and it raises the size', async (t) => {
  const h = await harness(t);
  await h.create(
    'trend',
    scaling({
      min: 1,
      max: 20,
      metric: 'rps',
      target: 50,
      predictive: { enabled: true, bucket: 10, season: 0, horizon: 60 },
    }),
  );
  const autoscaler = h.newAutoscaler();
  // 20 buckets of 10 s with the rate rising by 10 req/s per bucket, sampled every 2.5 s.
  for (let bucket = 0; bucket < 20; bucket++) {
    for (let i = 0; i < 4; i++) {
      h.metrics.traffic = {
        requestRate: 20 + 10 * bucket,
        concurrency: 1,
        responses: 100,
        inFlight: 1,
        held: 0,
        lastRequestAt: h.now(),
      };
      await autoscaler.tick();
      h.advance(2_500);
    }
  }
  await autoscaler.tick();
  const s = await h.state('trend');
  assert.ok(s?.forecast !== undefined, 'a forecast in status');
  assert.equal(s.forecast.method, 'holt');
  // Now ≈ 210 req/s; 60 s ahead the trend says ≈ 270 req/s → 6 replicas, where 210 alone asks for 5.
  assert.ok(s.forecast.requestRate > 240 && s.forecast.requestRate < 300, `forecast ${s.forecast.requestRate} req/s`);
  assert.ok(s.forecast.error.samples > 10 && s.forecast.error.rmse >= 0, JSON.stringify(s.forecast.error));
  assert.equal(s.desiredReplicas, s.forecast.desiredReplicas, 'the forecast sets the size');
  assert.ok(s.desiredReplicas > Math.ceil(210 / 50), `desired ${s.desiredReplicas}`);
  assert.ok(s.history !== undefined && s.history.rates.length >= 19, 'the rate history is stored');
});

test('cpu: usage above targetCPU % of the request adds replicas', async (t) => {
  const h = await harness(t);
  await h.create('hot', {
    replicas: 2,
    resources: { cpu: '500m' },
    scaling: { min: 1, max: 10, metric: 'cpu', targetCPU: 80 },
  });
  await eventually(
    async () =>
      (await h.replicasRunning('hot')) === 2 && (await h.service.get('hot', 'staging')).status.readyReplicas === 2,
    { timeoutMs: 5_000, message: 'two ready replicas' },
  );
  h.runtime.perReplica = { cpuCores: 0.9, memoryBytes: 200 * 2 ** 20 };
  const autoscaler = h.newAutoscaler();
  await autoscaler.tick();
  // A replica's CPU counts once it has been ready for the start-up grace.
  h.advance(AUTOSCALER_DEFAULTS.cpuStartupGraceMs);
  await autoscaler.tick();
  h.advance(500);
  await autoscaler.tick();
  const s = await h.state('hot');
  // 2 replicas × 0.9 / 0.5 cores = 360% in total; target 80% per replica → 5 replicas.
  assert.equal(s?.desiredReplicas, 5, JSON.stringify(s?.lastDecision));
  assert.equal(s?.lastDecision?.metric, 'cpu');
  assert.match(s?.lastDecision?.message ?? '', /CPU/);
});

test('custom: a PromQL value divided by its per-replica target', async (t) => {
  const h = await harness(t);
  await h.create('queue', scaling({ metric: 'custom', custom: { query: 'sum(queue_depth)', target: 100 } }));
  const autoscaler = h.newAutoscaler();
  h.metrics.custom = 730;
  await autoscaler.tick();
  h.advance(500);
  await autoscaler.tick();
  const s = await h.state('queue');
  assert.deepEqual([...new Set(h.metrics.queries)], ['sum(queue_depth)']);
  assert.equal(s?.desiredReplicas, 8, '730 / 100 → 8');
  assert.equal(s?.problem, undefined);
});

test('a deployment deleted and created again does not inherit the old size', async (t) => {
  const h = await harness(t);
  await h.create('again', scaling({ metric: 'rps', target: 50 }));
  const autoscaler = h.newAutoscaler();
  h.metrics.traffic = {
    requestRate: 400,
    concurrency: 4,
    responses: 4000,
    inFlight: 4,
    held: 0,
    lastRequestAt: h.now(),
  };
  await autoscaler.tick();
  h.advance(500);
  await autoscaler.tick();
  assert.equal((await h.state('again'))?.desiredReplicas, 8);
  await h.service.delete('again', 'staging', { actor: 'alice' });
  await eventually(
    async () => (await h.ts.store.deployments.list({ environment: 'staging' })).items.every((d) => d.name !== 'again'),
    { timeoutMs: 5_000, message: 'the deletion to finish' },
  );
  assert.equal(await h.state('again'), undefined, 'the record goes with the deployment');
  h.metrics.traffic = { requestRate: 0, concurrency: 0, responses: 0, inFlight: 0, held: 0 };
  await h.create('again', scaling({ metric: 'rps', target: 50 }));
  h.advance(500);
  await autoscaler.tick();
  assert.equal((await h.state('again'))?.desiredReplicas, 1, 'the new deployment starts from its own spec');
});

test('cpu: start-up CPU of replicas not ready, or ready for less than the grace, scales nothing and never panics', async (t) => {
  const h = await harness(t);
  h.runtime.readyAfterMs = 1e9; // the replicas stay starting (loading their model) until the test says
  h.runtime.perReplica = { cpuCores: 0.7, memoryBytes: 200 * 2 ** 20 }; // 140% of 500m each: 280% in all
  await h.create('calm', {
    replicas: 2,
    resources: { cpu: '500m' },
    scaling: { min: 2, max: 6, metric: 'cpu', targetCPU: 70 },
  });
  await eventually(async () => (await h.replicasRunning('calm')) === 2, {
    timeoutMs: 5_000,
    message: 'two starting replicas',
  });
  const autoscaler = h.newAutoscaler();
  const tickFor = async (ms: number) => {
    for (let at = 0; at < ms; at += 500) {
      await autoscaler.tick();
      h.advance(500);
    }
  };
  const calm = async (what: string) => {
    const s = await h.state('calm');
    assert.equal(s?.desiredReplicas, 2, `${what}: ${JSON.stringify(s?.lastDecision)}`);
    assert.equal(s?.panicUntil, undefined, `${what}: no panic mode`);
    assert.ok(!(await h.events('calm')).some((e) => e.reason === 'ScaledUp'), `${what}: no ScaledUp event`);
  };
  await tickFor(60_000);
  await calm('a minute of start-up CPU');

  h.runtime.readyAfterMs = 0; // ready now, still warming up: inside the grace
  await tickFor(AUTOSCALER_DEFAULTS.cpuStartupGraceMs - 1_000);
  await calm('ready for less than the grace');
  assert.equal((await h.state('calm'))?.observed?.stable, undefined, 'no CPU counted yet');

  h.runtime.perReplica = { cpuCores: 0.01, memoryBytes: 200 * 2 ** 20 }; // idle
  await tickFor(AUTOSCALER_DEFAULTS.refreshIntervalMs + 1_000); // the record shows what was measured at its refresh
  await calm('idle after the grace');
  assert.ok(((await h.state('calm'))?.observed?.stable ?? -1) >= 0, "the ready replicas' CPU is counted now");

  h.runtime.perReplica = { cpuCores: 0.9, memoryBytes: 200 * 2 ** 20 }; // real load: 360% in all, target 70% → 6
  await tickFor(4_000); // beyond the 3 s panic window
  const s = await h.state('calm');
  assert.equal(s?.desiredReplicas, 6, JSON.stringify(s?.lastDecision));
  assert.equal(s?.lastDecision?.metric, 'cpu');
});

test("a deployment created again under the same name does not inherit the old one's last request", async (t) => {
  const h = await harness(t);
  await h.create('again', scaling({ min: 0, max: 3, idleTimeout: 60 }));
  const autoscaler = h.newAutoscaler();
  const seen = h.now();
  h.metrics.traffic = { requestRate: 1, concurrency: 0.1, responses: 10, inFlight: 0, held: 0, lastRequestAt: seen };
  await autoscaler.tick();
  assert.equal((await h.state('again'))?.lastRequestAt, new Date(seen).toISOString());
  await h.service.delete('again', 'staging', { actor: 'alice' });
  await eventually(
    async () => (await h.ts.store.deployments.list({ environment: 'staging' })).items.every((d) => d.name !== 'again'),
    { timeoutMs: 5_000, message: 'the deletion to finish' },
  );
  assert.equal(await h.state('again'), undefined, 'the record goes with the deployment');

  // The gateways still remember the old deployment's last request under the same name.
  h.metrics.traffic = { requestRate: 0, concurrency: 0, responses: 0, inFlight: 0, held: 0, lastRequestAt: seen };
  h.advance(1_000);
  await h.create('again', scaling({ min: 0, max: 3, idleTimeout: 60 }));
  await autoscaler.tick();
  const fresh = await h.state('again');
  assert.ok(fresh !== undefined, 'a record for the new deployment');
  assert.equal(fresh.lastRequestAt, undefined, 'no request seen for the new deployment');
});
