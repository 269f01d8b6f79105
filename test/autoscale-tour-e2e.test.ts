/**
 * Autoscaling defects found by following the README on a real control plane (SQLite, local
 * runtime, its gateway process, real model replicas), issue 12:
 * - the tour's sequence (create, update, rollback, scale, then `deploy autoscale` on the running
 *   deployment) used to stop the deployment's reconciles for good; now the autoscaler's size is
 *   applied (here: zero once idle), and a replica count for the autoscaled deployment is refused;
 * - a deployment deleted and created again under the same name used to inherit the old one's
 *   last request time from the gateways' counters.
 * (Item 4, start-up CPU counted as load, is pinned in autoscaler-controller.test.ts: the demo
 * model's start-up here does not reach the panic threshold, so an end-to-end test could not fail.)
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { AutoscalerState, Deployment, DeploymentEvent } from '../src/core/resources.js';
import { type E2eControlPlane, startE2eControlPlane } from './support/control-plane-e2e.js';
import { replicaPidsWithArg } from './support/process-scan.js';
import { eventually } from './support/eventually.js';

let e2e: E2eControlPlane;

before(async () => {
  e2e = await startE2eControlPlane('wharf-autoscale-tour-', { '1.0.0': {}, '1.1.0': {} }, { drainMs: 300 });
});

after(() => e2e?.stop());

const path = (name: string, rest = '') => `/api/v1/environments/staging/deployments/${name}${rest}`;
const events = async (name: string) => (await e2e.api(path(name, '/events?limit=500'))).body.items as DeploymentEvent[];
const autoscaling = async (name: string) =>
  (await e2e.api(path(name, '/autoscaling'))).body as { autoscaled: boolean; state: AutoscalerState | null };
const settled = (name: string, ok: (d: Deployment) => boolean, what: string, ms = 60_000) =>
  e2e.settled('staging', name, ok, what, ms);
const runningAt = (revision: number, ready: number) => (d: Deployment) =>
  d.status.phase === 'running' && d.status.observedRevision === revision && d.status.readyReplicas === ready;
const call = async (method: string, to: string, json?: unknown, expected = 200) => {
  const res = await e2e.api(to, { method, ...(json === undefined ? {} : { json }) });
  assert.equal(res.status, expected, `${method} ${to}: ${JSON.stringify(res.body)}`);
  return res.body;
};

test('the README tour: autoscale on a running deployment is carried out (idle → zero replicas), and a replica count is refused', async () => {
  await call(
    'POST',
    '/api/v1/deployments',
    { name: 'risk', environment: 'staging', model: { name: 'risk', version: '1.0.0' }, configuration: { replicas: 2 } },
    201,
  );
  await settled('risk', runningAt(1, 2), 'revision 1 running 2/2');
  await call('PATCH', path('risk'), { model: { version: '1.1.0' } });
  await settled('risk', runningAt(2, 2), 'revision 2 running 2/2');
  await call('POST', path('risk', '/rollback'), {});
  await settled('risk', runningAt(3, 2), 'revision 3 (rollback) running 2/2');
  await call('POST', path('risk', '/scale'), { replicas: 3 });
  await settled('risk', runningAt(4, 3), 'revision 4 running 3/3');

  // `wharf deploy autoscale risk -e staging --min 0 --max 4 --target 8 --idle-timeout 10`: revision
  // 5 runs on the same replicas (it used to fail every retry until an idle deployment reached zero).
  const replicas = replicaPidsWithArg(e2e.home).sort();
  assert.equal(replicas.length, 3);
  const current = await e2e.get('staging', 'risk');
  await call('PATCH', path('risk'), {
    resourceVersion: current.resourceVersion,
    configuration: { scaling: { min: 0, max: 4, target: 8, idleTimeout: 10 } },
  });
  await settled('risk', runningAt(5, 3), 'revision 5 reconciled on the running replicas, before any idle decision');
  assert.deepEqual(replicaPidsWithArg(e2e.home).sort(), replicas, 'the same replica processes');

  const scale = await e2e.api(path('risk', '/scale'), { method: 'POST', json: { replicas: 2 } });
  assert.equal(scale.status, 400, JSON.stringify(scale.body));
  assert.match(
    JSON.stringify(scale.body),
    /configuration\.replicas: deployment \\"risk\\" is autoscaled: the autoscaler sizes it between min 0 and max 4/,
  );

  // No request for 10 s: the autoscaler decides zero, and the controller carries it out.
  const zero = await settled(
    'risk',
    (d) =>
      d.status.observedRevision === 5 && d.status.readyReplicas === 0 && /scaled to zero/.test(d.status.message ?? ''),
    'scaled to zero while idle',
    90_000,
  );
  assert.equal(zero.status.desiredReplicas, 0);
  assert.equal((await autoscaling('risk')).state?.desiredReplicas, 0);
  await eventually(() => Promise.resolve(replicaPidsWithArg(e2e.home).length === 0 ? true : undefined), {
    timeoutMs: 20_000,
    intervalMs: 100,
    message: 'no replica process at zero',
  });
  assert.equal(
    zero.status.conditions.find((c) => c.type === 'Reconciled'),
    undefined,
    'no reconcile error was recorded',
  );
  assert.ok(
    (await events('risk')).some((e) => e.reason === 'ScaledToZero'),
    'a ScaledToZero event',
  );

  await call('DELETE', path('risk'), undefined, 202);
  await eventually(async () => ((await e2e.api(path('risk'))).status === 404 ? true : undefined), {
    timeoutMs: 30_000,
    intervalMs: 100,
    message: 'risk deleted',
  });
});

test("a deployment deleted and created again under the same name does not inherit the old one's last request", async () => {
  const spec = {
    name: 'again',
    environment: 'staging',
    model: { name: 'risk', version: '1.0.0' },
    configuration: { replicas: 1, scaling: { min: 1, max: 2 } },
  };
  await call('POST', '/api/v1/deployments', spec, 201);
  await settled('again', runningAt(1, 1), 'one ready replica');
  const res = await e2e.infer('staging', 'again');
  assert.equal(res.status, 200);
  await res.arrayBuffer();
  await eventually(async () => ((await autoscaling('again')).state?.lastRequestAt !== undefined ? true : undefined), {
    timeoutMs: 30_000,
    intervalMs: 100,
    message: 'the request seen by the autoscaler',
  });

  await call('DELETE', path('again'), undefined, 202);
  await eventually(async () => ((await e2e.api(path('again'))).status === 404 ? true : undefined), {
    timeoutMs: 30_000,
    intervalMs: 100,
    message: 'again deleted',
  });
  const created = (await call('POST', '/api/v1/deployments', spec, 201)) as unknown as Deployment;
  // A record written by the autoscaler for the new deployment, after it has measured traffic.
  const state = await eventually(
    async () => {
      const s = (await autoscaling('again')).state;
      return s?.observed !== undefined && Date.parse(s.observed.time) > Date.parse(created.metadata.created)
        ? s
        : undefined;
    },
    { timeoutMs: 30_000, intervalMs: 100, message: 'a record for the new deployment' },
  );
  assert.equal(state.lastRequestAt, undefined, `no request was made to the new deployment: ${JSON.stringify(state)}`);

  await call('DELETE', path('again'), undefined, 202);
  await eventually(async () => ((await e2e.api(path('again'))).status === 404 ? true : undefined), {
    timeoutMs: 30_000,
    intervalMs: 100,
    message: 'again deleted',
  });
});
