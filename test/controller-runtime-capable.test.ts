/**
 * The deployment controller refuses a revision whose workload sets a field the runtime cannot
 * honour (`capabilities.unsupportedFields`): the fake runtime here declares `dependencies`
 * unsupported, as the Kubernetes engine does. The deployment is blocked with a `RuntimeCapable:
 * False` condition and one Warning event instead of running without its dependency checks; a
 * deployment without the field runs as before. Also: the reconciler narrows its `list` to the
 * deployment.
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import type { Controller } from '../src/controller/controller.js';
import { createDeploymentController } from '../src/controller/deployment-controller.js';
import { DeploymentService } from '../src/services/deployment-service.js';
import type { DeploymentInput } from '../src/core/deployment-spec.js';
import type { Deployment } from '../src/core/resources.js';
import { FakeRuntime } from './support/fake-runtime.js';
import { seededStore } from './support/deployment-fixtures.js';
import { eventually } from './support/eventually.js';

const alice = { actor: 'alice' };
const WHY = 'this fake has no dependency checks';

async function harness(t: TestContext) {
  const ts = await seededStore();
  const runtime = new FakeRuntime({ readyAfterMs: 10, unsupportedFields: { dependencies: WHY } });
  const service = new DeploymentService(ts.store);
  const controller: Controller = createDeploymentController({
    store: ts.store,
    runtime,
    artifactPath: (digest) => `/blobs/${digest.slice('sha256:'.length)}`,
    pollIntervalMs: 20,
    failedPollIntervalMs: 40,
    resyncIntervalMs: 1_000,
    queue: { baseDelayMs: 10, maxDelayMs: 100 },
  });
  await controller.start();
  t.after(async () => {
    await controller.stop();
    await ts.cleanup();
  });
  /** A probe for {@link eventually}: deployment `name` once it passes `check` (it throws with the last status). */
  const deployment = (name: string, check: (d: Deployment) => boolean) => async (): Promise<Deployment> => {
    const last = await service.get(name, 'staging');
    assert.ok(check(last), `${name}: last status ${JSON.stringify(last.status)}`);
    return last;
  };
  return { runtime, service, deployment };
}

const input = (name: string, withDependency: boolean): DeploymentInput => ({
  name,
  environment: 'staging',
  model: { name: 'readmission', version: '1.3.0' },
  configuration: {
    replicas: 1,
    ...(withDependency ? { healthCheck: { dependencies: [{ name: 'feature-store', tcp: '127.0.0.1:6379' }] } } : {}),
  },
});

test('a workload with a field the runtime cannot honour is refused with RuntimeCapable False and an event, not run without it', async (t) => {
  const h = await harness(t);
  await h.service.create(input('needy', true), alice);
  const d = await eventually(
    h.deployment('needy', (x) => x.status.conditions.some((c) => c.type === 'RuntimeCapable' && c.status === 'False')),
    { timeoutMs: 5_000, message: 'needy refused' },
  );
  const condition = d.status.conditions.find((c) => c.type === 'RuntimeCapable')!;
  assert.equal(condition.reason, 'NotSupported');
  assert.equal(condition.message, `the fake runtime cannot honour dependencies: ${WHY}`);
  assert.equal(d.status.phase, 'failed');
  assert.match(d.status.message ?? '', /revision 1: the fake runtime cannot honour dependencies/);
  assert.ok(!h.runtime.applies.some((w) => w.key.deployment === 'needy'), 'nothing was applied');
  assert.deepEqual(h.runtime.keys(), []);

  // Reconciled again (a resync, a poll): still refused, and no second event for the same refusal.
  await h.service.create(input('plain', false), alice);
  await eventually(
    h.deployment('plain', (x) => x.status.phase === 'running' && x.status.readyReplicas === 1),
    { timeoutMs: 5_000, message: 'plain running' },
  );
  const events = (await h.service.events('needy', 'staging')).items.filter((e) => e.reason === 'RuntimeNotCapable');
  assert.equal(events.length, 1);
  assert.equal(events[0]!.type, 'Warning');
  assert.equal(events[0]!.message, condition.message);
});

test('a workload the runtime can honour runs as before and carries no RuntimeCapable condition', async (t) => {
  const h = await harness(t);
  await h.service.create(input('plain', false), alice);
  const d = await eventually(
    h.deployment('plain', (x) => x.status.phase === 'running' && x.status.readyReplicas === 1),
    { timeoutMs: 5_000, message: 'plain running' },
  );
  assert.ok(!d.status.conditions.some((c) => c.type === 'RuntimeCapable'));
  assert.deepEqual(h.runtime.keys(), ['staging/plain@1']);
});

test("the reconciler lists only the deployment's workloads", async (t) => {
  const h = await harness(t);
  await h.service.create(input('narrow', false), alice);
  await eventually(
    h.deployment('narrow', (x) => x.status.phase === 'running'),
    { timeoutMs: 5_000, message: 'narrow running' },
  );
  assert.ok(
    h.runtime.lists.some((s) => s.environment === 'staging' && s.deployment === 'narrow'),
    `lists: ${JSON.stringify(h.runtime.lists)}`,
  );
});
