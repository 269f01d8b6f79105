/**
 * Queue autoscaling end to end: a real control plane (SQLite, local runtime, real replica
 * processes) scaling a deployment on a real Redis list. Messages queued → replicas up to
 * ceil(depth / target); the list drained → one, then zero after idleTimeout with no process left;
 * one message → a replica again, with no gateway involved (the autoscaler polls the queue at zero).
 * A bad queue spec is a 400 naming the field, and nothing is created. The deployment scaled is a
 * `type: worker` (a process that listens on nothing; what it does with the messages is not the
 * autoscaler's business, so this one only sleeps).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { AutoscalerState } from '../src/core/resources.js';
import { type E2eControlPlane, startE2eControlPlane } from './support/control-plane-e2e.js';
import { brokerOrSkip, createTestQueue, type TestQueue } from './support/brokers.js';
import { eventually } from './support/eventually.js';
import { replicaPidsWithArg } from './support/process-scan.js';

let e2e: E2eControlPlane | undefined;
let queue: TestQueue | undefined;

before(async () => {
  e2e = await startE2eControlPlane('wharf-queue-scale-', { '1.0.0': {} }, { drainMs: 200 });
});
after(async () => {
  await queue?.remove();
  await e2e?.stop();
});

const path = (name: string, rest = '') => `/api/v1/environments/staging/deployments/${name}${rest}`;

test('a bad queue spec is a 400 naming the field, and creates nothing', async () => {
  const bad = await e2e!.api('/api/v1/deployments', {
    method: 'POST',
    json: {
      name: 'bad-queue',
      environment: 'staging',
      model: { name: 'risk', version: '1.0.0' },
      configuration: {
        replicas: 1,
        scaling: {
          min: 0,
          max: 2,
          metric: 'queue',
          queue: { type: 'nats', url: 'nats://127.0.0.1:4222', name: 'T', target: 1 },
        },
      },
    },
  });
  assert.equal(bad.status, 400, JSON.stringify(bad.body));
  assert.match(JSON.stringify(bad.body), /configuration\.scaling\.queue\.consumer: is required for type nats/);
  assert.equal((await e2e!.api(path('bad-queue'))).status, 404);
});

test('a worker scaled on a Redis list: up with the messages, zero when drained and idle, back at the next message', async (t) => {
  const url = await brokerOrSkip(t, 'redis');
  if (url === undefined) return;
  queue = await createTestQueue('redis', url);
  await queue.push(4);
  const created = await e2e!.api('/api/v1/deployments', {
    method: 'POST',
    json: {
      name: 'tasks',
      environment: 'staging',
      type: 'worker',
      configuration: {
        // The home in its arguments: the process scan below finds the replicas by it.
        command: ['/usr/bin/python3', '-c', 'import time\nwhile True: time.sleep(60)', e2e!.home],
        terminationGracePeriod: 1,
        replicas: 1,
        scaling: {
          min: 0,
          max: 3,
          metric: 'queue',
          queue: { ...queue.queue, target: 2 },
          idleTimeout: 10,
          scaleDownDelay: 0,
        },
      },
    },
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const autoscaling = async () => (await e2e!.api(path('tasks', '/autoscaling'))).body.state as AutoscalerState | null;

  await e2e!.settled('staging', 'tasks', (d) => d.status.readyReplicas === 2, '4 messages / 2 per replica = 2 ready');
  assert.equal(replicaPidsWithArg(e2e!.home).length, 2, 'two worker processes');
  const up = await autoscaling();
  assert.equal(up?.observed?.metric, 'queue');
  assert.equal(up?.observed?.stable, 4);

  await queue.drain();
  await e2e!.settled(
    'staging',
    'tasks',
    (d) => d.status.readyReplicas === 0,
    'zero after the 10 s idle timeout',
    45_000,
  );
  const zero = await autoscaling();
  assert.equal(zero?.desiredReplicas, 0);
  assert.match(zero?.lastDecision?.message ?? '', /^queue empty for \d+ s \(idle timeout 10 s\)/);
  await eventually(() => replicaPidsWithArg(e2e!.home).length === 0, {
    timeoutMs: 20_000,
    intervalMs: 100,
    message: 'no replica process at zero',
  });

  await queue.push(1);
  await e2e!.settled('staging', 'tasks', (d) => d.status.readyReplicas === 1, 'a replica for the first message');
  assert.equal((await autoscaling())?.lastDecision?.rule, 'activation');
});
