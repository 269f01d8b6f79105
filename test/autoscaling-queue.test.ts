/**
 * The `queue` metric of the autoscaler: the pure decision (depth / target now, no window; idle =
 * the queue empty for idleTimeout; at zero the first message wakes it; a queue that cannot be read
 * neither wakes nor idles), then the autoscaler reconciler reading each real broker (Redis list,
 * RabbitMQ queue, NATS JetStream consumer) on the test's clock: messages queued → up, drained →
 * one, idle → zero, one message → back to one; a broker that is down → a problem on the record
 * and the size kept.
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { decide, initialState, type ScalingObservation } from '../src/core/autoscaling/decide.js';
import { resolveScaling } from '../src/core/autoscaling/scaling-spec.js';
import type { QueueScaling, ScalingSpec } from '../src/core/resources.js';
import { AutoscalerReconciler } from '../src/controller/reconcilers/autoscaler-reconciler.js';
import type { MetricsSource } from '../src/metrics/metrics-source.js';
import { QueueDepths } from '../src/metrics/queue-depth/queue-depths.js';
import { DeploymentService } from '../src/services/deployment-service.js';
import { type Broker, brokerOrSkip, createTestQueue } from './support/brokers.js';
import { seededStore } from './support/deployment-fixtures.js';
import { FakeRuntime } from './support/fake-runtime.js';
import { freePort } from './support/ports.js';

const NOW = Date.parse('2026-12-01T10:00:00Z');
const s = (seconds: number): number => NOW + seconds * 1000;
const queue: QueueScaling = { type: 'redis', url: 'redis://127.0.0.1:6379', name: 'tasks', target: 5 };
const spec: ScalingSpec = { min: 0, max: 10, targetCPU: 80, targetMemory: 80, metric: 'queue', queue };
const scaling = resolveScaling(spec);
const bounds = { min: 0, max: 10 };
const observe = (o: Partial<ScalingObservation> & { current: number }): ScalingObservation => ({
  now: NOW,
  ready: o.current,
  startedAt: s(-3600),
  held: 0,
  ...o,
});

test('decide, metric queue: ceil(depth / target), read now', () => {
  const d = decide(scaling, bounds, observe({ current: 1, stable: 23, lastRequestAt: NOW }), initialState(s(-3600), 1));
  assert.equal(d.desired, 5);
  assert.equal(d.reason.rule, 'stable');
  assert.equal(d.reason.metric, 'queue');
  assert.equal(d.reason.message, 'queued messages 23 now / target 5 per replica = 5 replicas: 1 → 5 replicas');
});

test('decide, metric queue: empty for idleTimeout → zero; empty at zero stays; a message wakes it', () => {
  const busy = decide(
    scaling,
    bounds,
    observe({ current: 2, stable: 0, lastRequestAt: s(-299) }),
    initialState(s(-3600), 2),
  );
  assert.equal(busy.desired, 1, `empty for 299 s of 300: one replica stays (${busy.reason.message})`);
  const idle = decide(
    scaling,
    bounds,
    observe({ current: 2, stable: 0, lastRequestAt: s(-400) }),
    initialState(s(-3600), 2),
  );
  assert.deepEqual([idle.desired, idle.reason.rule], [0, 'idle']);
  assert.equal(idle.reason.message, 'queue empty for 400 s (idle timeout 300 s): 2 → 0 replicas');

  const quiet = decide(
    scaling,
    bounds,
    observe({ now: s(1), current: 0, stable: 0, lastRequestAt: s(-400) }),
    idle.state,
  );
  assert.deepEqual(
    [quiet.desired, quiet.reason.message],
    [0, 'queue empty since scaling to zero: stays at 0 replicas'],
  );
  const woken = decide(
    scaling,
    bounds,
    observe({ now: s(2), current: 0, stable: 12, lastRequestAt: s(2) }),
    quiet.state,
  );
  assert.deepEqual([woken.desired, woken.reason.rule], [3, 'activation']);
  assert.equal(
    woken.reason.message,
    'activation: 12 messages queued after scaling to zero = 3 replicas at target 5 per replica: 0 → 3 replicas',
  );
});

test('decide, metric queue: a queue that cannot be read keeps the size, at zero and above', () => {
  for (const current of [0, 3]) {
    const d = decide(
      scaling,
      bounds,
      observe({ current, unmeasured: true, lastRequestAt: current === 0 ? NOW : s(-4000) }),
      initialState(s(-3600), current),
    );
    assert.deepEqual([d.desired, d.reason.rule], [current, 'unchanged'], d.reason.message);
    assert.match(d.reason.message, /^queued messages could not be measured: stays at/);
  }
});

/** Gateway figures are not used by the queue metric: a source that has none. */
const noTraffic: MetricsSource = {
  name: 'none',
  revision: () => Promise.reject(new Error('not used')),
  shadow: () => Promise.reject(new Error('not used')),
};

async function harness(t: TestContext) {
  const ts = await seededStore();
  let clock = NOW;
  const service = new DeploymentService(ts.store, { now: () => new Date(clock) });
  const queues = new QueueDepths({ timeoutMs: 1_000 });
  const errors: string[] = [];
  const autoscaler = new AutoscalerReconciler({
    store: ts.store,
    metrics: noTraffic,
    runtime: new FakeRuntime(),
    queues,
    now: () => clock,
    onError: (id, e) => void errors.push(`${id}: ${(e as Error).message}`),
  });
  t.after(async () => {
    await autoscaler.idle();
    await queues.close();
    await ts.cleanup();
  });
  const create = (name: string, q: QueueScaling) =>
    service.create(
      {
        name,
        environment: 'staging',
        model: { name: 'readmission', version: '1.4.0' },
        configuration: {
          replicas: 1,
          scaling: { min: 0, max: 5, metric: 'queue', queue: q, idleTimeout: 10, scaleDownDelay: 0 },
        },
      },
      { actor: 'alice' },
    );
  /** One evaluation of `name` after `ms` on the test's clock; its record. */
  const evaluate = async (name: string, ms = 1_000) => {
    clock += ms;
    await autoscaler.reconcile(`staging.${name}`);
    assert.deepEqual(errors, []);
    return ts.store.autoscalers.get(`staging.${name}`);
  };
  return { create, evaluate };
}

for (const broker of ['redis', 'rabbitmq', 'nats'] as Broker[]) {
  test(`autoscaler on a ${broker} queue: up with the messages, one when drained, zero when idle, back at the first message`, async (t) => {
    const url = await brokerOrSkip(t, broker);
    if (url === undefined) return;
    const q = await createTestQueue(broker, url);
    t.after(() => q.remove());
    const h = await harness(t);
    await h.create('worker', { ...q.queue, target: 2 });

    assert.equal((await h.evaluate('worker')).desiredReplicas, 1, 'empty, not idle yet: the spec size');
    await q.push(7);
    const up = await h.evaluate('worker');
    assert.equal(up.desiredReplicas, 4, '7 messages / 2 per replica');
    assert.equal(up.observed?.stable, 7);
    assert.equal(up.lastDecision?.message, 'queued messages 7 now / target 2 per replica = 4 replicas: 1 → 4 replicas');

    await q.drain();
    assert.equal((await h.evaluate('worker')).desiredReplicas, 1, 'drained: one stays until idle');
    const idle = await h.evaluate('worker', 10_000);
    assert.equal(idle.desiredReplicas, 0);
    assert.match(idle.lastDecision?.message ?? '', /^queue empty for 1\d s \(idle timeout 10 s\): 1 → 0 replicas$/);
    assert.equal((await h.evaluate('worker', 5_000)).desiredReplicas, 0, 'still empty: polled at zero, stays');

    await q.push(1);
    const woken = await h.evaluate('worker');
    assert.equal(woken.desiredReplicas, 1);
    assert.equal(woken.lastDecision?.rule, 'activation');
  });
}

test('autoscaler on a queue whose broker is down: a problem on the record, the size kept, no crash', async (t) => {
  const h = await harness(t);
  const port = await freePort();
  await h.create('worker', { type: 'redis', url: `redis://:pw-not-shown@127.0.0.1:${port}`, name: 'tasks', target: 2 });
  for (const ms of [1_000, 20_000]) {
    const record = await h.evaluate('worker', ms);
    assert.equal(record.desiredReplicas, 1, 'unknown demand: neither idled nor scaled');
    assert.match(
      record.problem ?? '',
      new RegExp(`^redis list "tasks" at redis://:\\*\\*\\*@127\\.0\\.0\\.1:${port}: .*ECONNREFUSED`),
    );
    assert.doesNotMatch(record.problem ?? '', /pw-not-shown/);
  }
});
