/**
 * The autoscaler as a reconciler driven by the controller loop: a reconcile evaluates an autoscaled
 * deployment and asks to run again after the evaluation interval (`requeueAfterMs`); woken sooner
 * (a Deployment change, a resync) it only requeues for the rest of the interval; a deployment it
 * does not scale (gone, at zero in its spec) is forgotten with no requeue. The loop itself, on a
 * fake clock, evaluates at start and again each interval with no timer of the autoscaler's own.
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { createAutoscalerController } from '../src/controller/autoscaler-controller.js';
import { DeploymentService } from '../src/services/deployment-service.js';
import { AutoscalerReconciler } from '../src/controller/reconcilers/autoscaler-reconciler.js';
import type { DeploymentTraffic, DeploymentWindow, MetricsSource } from '../src/metrics/metrics-source.js';
import { seededStore } from './support/deployment-fixtures.js';
import { eventually } from './support/eventually.js';
import { ManualClock } from './support/fake-clock.js';
import { FakeRuntime } from './support/fake-runtime.js';

/** Answers every window with 200 req/s and counts the questions (two per evaluation). */
class CountingMetrics implements MetricsSource {
  readonly name = 'counting';
  asked = 0;
  deployment(w: DeploymentWindow): Promise<DeploymentTraffic> {
    this.asked++;
    return Promise.resolve({
      coveredMs: w.windowMs,
      requestRate: 200,
      concurrency: 2,
      responses: 100,
      inFlight: 2,
      held: 0,
    });
  }
  revision(): never {
    throw new Error('not used');
  }
  shadow(): never {
    throw new Error('not used');
  }
}

async function setup(t: TestContext) {
  const ts = await seededStore();
  t.after(() => ts.cleanup());
  const clock = new ManualClock();
  const service = new DeploymentService(ts.store, { now: () => new Date(clock.now()) });
  await service.create(
    {
      name: 'risk',
      environment: 'staging',
      model: { name: 'readmission', version: '1.4.0' },
      configuration: { replicas: 1, scaling: { min: 1, max: 10, metric: 'rps', target: 50 } },
    },
    { actor: 'alice' },
  );
  const metrics = new CountingMetrics();
  const options = { store: ts.store, metrics, runtime: new FakeRuntime(), now: () => clock.now(), intervalMs: 500 };
  return { ts, clock, service, metrics, options };
}

test('a reconcile evaluates, then requeues for the interval; woken sooner it only requeues for the rest', async (t) => {
  const { ts, clock, service, metrics, options } = await setup(t);
  const autoscaler = new AutoscalerReconciler(options);
  assert.deepEqual(await autoscaler.reconcile('staging.risk'), { requeueAfterMs: 500 });
  assert.equal(metrics.asked, 2, 'one evaluation (stable and panic windows)');
  assert.equal((await ts.store.autoscalers.get('staging.risk')).desiredReplicas, 4, '200 req/s / 50 → 4');

  await clock.advance(200);
  assert.deepEqual(await autoscaler.reconcile('staging.risk'), { requeueAfterMs: 300 });
  assert.equal(metrics.asked, 2, 'no evaluation within the interval');

  await clock.advance(300);
  assert.deepEqual(await autoscaler.reconcile('staging.risk'), { requeueAfterMs: 500 });
  assert.equal(metrics.asked, 4, 'evaluated again once the interval passed');

  await service.delete('risk', 'staging', { actor: 'alice' }); // being deleted: no longer a candidate
  assert.deepEqual(await autoscaler.reconcile('staging.risk'), {}, 'not scaled: no requeue');
  assert.deepEqual(autoscaler.keys(), [], 'and forgotten');
});

test('the controller loop evaluates at start and again each interval, on its clock', async (t) => {
  const { clock, metrics, options } = await setup(t);
  const { controller, autoscaler } = createAutoscalerController({ ...options, clock });
  await controller.start();
  t.after(async () => {
    await controller.stop();
    await autoscaler.idle();
  });
  // Armed timers: the resync and, once an evaluation has ended, its requeue.
  const evaluated = (n: number) => () => metrics.asked >= 2 * n && clock.pendingTimers === 2;
  await eventually(evaluated(1), { timeoutMs: 5_000, message: 'the first evaluation, at start, and its requeue' });
  for (let n = 2; n <= 4; n++) {
    await clock.advance(500);
    await eventually(evaluated(n), { timeoutMs: 5_000, message: `evaluation ${n}, after the requeue` });
  }
  assert.deepEqual(autoscaler.keys(), ['staging.risk']);
});
