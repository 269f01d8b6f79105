/**
 * The deployment controller over a real SQLite store and the fake runtime, for two defects found
 * by following the README tour (issue 12, item 1):
 * - autoscaling a running deployment (a new revision that changes only the scaling bounds) keeps
 *   the running workload and resizes it to the autoscaler's size, instead of an apply the runtime
 *   refuses on every retry;
 * - a reconcile error that repeats is on the deployment as a `Reconciled: False` condition with
 *   the error and ONE Warning event (not one per retry), cleared once a reconcile succeeds again.
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { createDeploymentController } from '../src/controller/deployment-controller.js';
import { DeploymentService } from '../src/services/deployment-service.js';
import type { Controller } from '../src/controller/controller.js';
import type { Deployment } from '../src/core/resources.js';
import { FakeRuntime } from './support/fake-runtime.js';
import { seededStore } from './support/deployment-fixtures.js';
import { eventually } from './support/eventually.js';

const alice = { actor: 'alice' };

async function harness(t: TestContext) {
  const ts = await seededStore();
  const runtime = new FakeRuntime({ readyAfterMs: 20 });
  const service = new DeploymentService(ts.store);
  const errors: string[] = [];
  const controller: Controller = createDeploymentController({
    store: ts.store,
    runtime,
    artifactPath: (d) => `/blobs/${d}`,
    pollIntervalMs: 20,
    failedPollIntervalMs: 40,
    resyncIntervalMs: 1_000,
    drainMs: 0,
    queue: { baseDelayMs: 10, maxDelayMs: 100 },
    onError: (k, e) => void errors.push(`${k}: ${(e as Error).message}`),
  });
  await controller.start();
  t.after(async () => {
    await controller.stop();
    await ts.cleanup();
  });
  const get = (name: string) => service.get(name, 'staging');
  /** A probe for `eventually`: deployment `name` in staging once it matches `ok`. */
  const deployment = (name: string, ok: (d: Deployment) => boolean) => async (): Promise<Deployment> => {
    const last = await get(name);
    assert.ok(
      ok(last),
      `last status ${JSON.stringify(last.status)}; workloads ${runtime.keys().join(', ')}; errors ${errors.slice(-3).join(' | ')}`,
    );
    return last;
  };
  const events = async (name: string) =>
    (await ts.store.events.list({ deployment: `staging.${name}`, limit: 500 })).items;
  return { ts, runtime, service, errors, get, deployment, events };
}

const runningAt = (revision: number, ready: number) => (d: Deployment) =>
  d.status.phase === 'running' && d.status.observedRevision === revision && d.status.readyReplicas === ready;

test("the README tour: autoscaling a running deployment keeps its workload and runs the autoscaler's size", async (t) => {
  const h = await harness(t);
  await h.service.create(
    {
      name: 'risk',
      environment: 'staging',
      model: { name: 'readmission', version: '1.3.0' },
      configuration: { replicas: 2 },
    },
    alice,
  );
  await eventually(h.deployment('risk', runningAt(1, 2)), { timeoutMs: 10_000, message: 'risk running revision 1' });
  await h.service.update('risk', 'staging', { model: { version: '1.4.0' } }, alice);
  await eventually(
    h.deployment('risk', (d) => runningAt(2, 2)(d) && h.runtime.keys().length === 1),
    { timeoutMs: 10_000, message: 'risk running revision 2 alone' },
  );
  await h.service.rollback('risk', 'staging', alice);
  await eventually(
    h.deployment('risk', (d) => runningAt(3, 2)(d) && h.runtime.keys().length === 1),
    { timeoutMs: 10_000, message: 'risk running revision 3 alone' },
  );
  await h.service.scale('risk', 'staging', 3, alice);
  await eventually(h.deployment('risk', runningAt(4, 3)), {
    timeoutMs: 10_000,
    message: 'risk running 3 at revision 4',
  });
  assert.deepEqual(h.runtime.keys(), ['staging/risk@3'], 'the scale resized workload 3');

  // `wharf deploy autoscale risk -e staging --min 0 --max 4 --target 8`: revision 5.
  await h.service.update('risk', 'staging', { configuration: { scaling: { min: 0, max: 4, target: 8 } } }, alice);
  await eventually(h.deployment('risk', runningAt(5, 3)), {
    timeoutMs: 10_000,
    message: 'risk revision 5 observed, 3 ready (the spec size before any decision)',
  });
  assert.deepEqual(h.runtime.keys(), ['staging/risk@3'], 'the autoscale change kept workload 3');
  assert.deepEqual(
    h.runtime.applies.at(-1)?.scaling,
    { min: 1, max: 4, targetCPU: 80, targetMemory: 80 },
    'the new bounds reach the runtime (an HPA on Kubernetes)',
  );

  // The autoscaler decides 1 replica: the controller runs it.
  await h.ts.store.autoscalers.create({ deployment: 'staging.risk', environment: 'staging', desiredReplicas: 1 });
  const one = await eventually(
    h.deployment('risk', (d) => runningAt(5, 1)(d) && h.runtime.replicaCount('staging', 'risk') === 1),
    { timeoutMs: 10_000, message: "risk the autoscaler's size, 1 replica" },
  );
  assert.equal(one.status.desiredReplicas, 1);
  assert.deepEqual(h.errors, [], 'no reconcile failed');
  assert.equal(
    one.status.conditions.find((c) => c.type === 'Reconciled'),
    undefined,
    'no reconcile error to report',
  );
});

test('a reconcile error that repeats is a Reconciled=False condition and one Warning event, cleared when reconciling works again', async (t) => {
  const h = await harness(t);
  let failing = true;
  h.runtime.beforeApply = (w) =>
    failing && w.key.deployment === 'broken'
      ? Promise.reject(new Error('engine unavailable: disk full'))
      : Promise.resolve();
  await h.service.create(
    {
      name: 'broken',
      environment: 'staging',
      model: { name: 'readmission', version: '1.3.0' },
      configuration: { replicas: 1 },
    },
    alice,
  );

  const failed = await eventually(
    h.deployment('broken', (d) => d.status.conditions.some((c) => c.type === 'Reconciled' && c.status === 'False')),
    { timeoutMs: 10_000, message: 'broken a Reconciled=False condition' },
  );
  const condition = failed.status.conditions.find((c) => c.type === 'Reconciled')!;
  assert.equal(condition.reason, 'ReconcileError');
  assert.match(condition.message, /engine unavailable: disk full/);
  // Several more retries fail the same way: still one event.
  const retries = h.errors.length;
  await eventually(() => h.errors.length >= retries + 3, { timeoutMs: 5_000, message: 'three more failed retries' });
  const warnings = (await h.events('broken')).filter((e) => e.reason === 'ReconcileFailed');
  assert.equal(warnings.length, 1, `one ReconcileFailed event, not one per retry: ${JSON.stringify(warnings)}`);
  assert.equal(warnings[0]!.type, 'Warning');
  assert.match(warnings[0]!.message, /engine unavailable: disk full/);

  failing = false;
  const healed = await eventually(
    h.deployment(
      'broken',
      (d) => runningAt(1, 1)(d) && d.status.conditions.some((c) => c.type === 'Reconciled' && c.status === 'True'),
    ),
    { timeoutMs: 10_000, message: 'broken running with the condition cleared' },
  );
  assert.equal(healed.status.conditions.find((c) => c.type === 'Reconciled')?.reason, 'ReconcileSucceeded');
  const reasons = (await h.events('broken')).map((e) => e.reason);
  assert.equal(reasons.filter((r) => r === 'ReconcileFailed').length, 1);
  assert.ok(reasons.includes('ReconcileRecovered'), reasons.join(', '));
});
