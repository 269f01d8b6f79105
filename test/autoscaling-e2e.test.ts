/**
 * Health and autoscaling end to end on one machine: a real control plane (SQLite, local runtime,
 * its gateway process, API) with real model replicas.
 * - Scale to zero and back: an idle deployment with `min: 0` goes to zero replicas (no process
 *   left); a request that arrives then is held by the gateway and answered once the first replica
 *   is up; both decisions are events with their reasons.
 * - Scale up under load: concurrent requests above the per-replica target add a replica.
 * - A failing dependency keeps the deployment unready with a condition that names it, until it answers.
 * - A replica that answers 5xx is ejected by the gateway, and the ejection is a deployment event.
 * - Bad autoscaling input is refused with the field and the rule, and changes nothing.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { after, before, test } from 'node:test';
import { FAULT_LABELS } from '../src/workloads/onnx-model/test-faults.js';
import type { AutoscalerState, Deployment, DeploymentEvent } from '../src/core/resources.js';
import { type E2eControlPlane, startE2eControlPlane } from './support/control-plane-e2e.js';
import { freePort } from './support/ports.js';
import { replicaPidsWithArg } from './support/process-scan.js';
import { startWharf } from './support/processes.js';
import { eventually } from './support/eventually.js';

let e2e: E2eControlPlane;

before(async () => {
  e2e = await startE2eControlPlane(
    'wharf-autoscale-',
    {
      '1.0.0': {},
      '1.1.0': { [FAULT_LABELS.latencyMs]: '200' },
      '9.0.0': { [FAULT_LABELS.errorRate]: '1' },
    },
    // The slow and failing versions are test-fault labels: honoured only with the switch on.
    { drainMs: 300, gatewayDebugHeaders: true, testFaults: true },
  );
});

after(() => e2e?.stop());

const api = (path: string, init: RequestInit & { json?: unknown } = {}) => e2e.api(path, init);
const path = (name: string, rest = '') => `/api/v1/environments/staging/deployments/${name}${rest}`;
const get = (name: string) => e2e.get('staging', name);
const events = async (name: string) => (await api(path(name, '/events?limit=500'))).body.items as DeploymentEvent[];
const autoscaling = async (name: string) =>
  (await api(path(name, '/autoscaling'))).body as { autoscaled: boolean; state: AutoscalerState | null };
const infer = (name: string) => e2e.infer('staging', name);
const settled = (name: string, ok: (d: Deployment) => boolean, what: string, ms = 60_000) =>
  e2e.settled('staging', name, ok, what, ms);
const create = async (body: Record<string, unknown>) => {
  const created = await api('/api/v1/deployments', { method: 'POST', json: { environment: 'staging', ...body } });
  assert.equal(created.status, 201, JSON.stringify(created.body));
};

test('an idle deployment scales to zero; a request then is held, answered by a fresh replica, and both changes are events', async () => {
  await create({
    name: 'lazy',
    model: { name: 'risk', version: '1.0.0' },
    configuration: { replicas: 1, scaling: { min: 0, max: 2, idleTimeout: 10, hold: { queue: 10, timeout: 60 } } },
  });
  await settled('lazy', (d) => d.status.readyReplicas === 1, 'the first replica');
  const first = await infer('lazy');
  assert.equal(first.status, 200);
  await first.arrayBuffer();

  await settled(
    'lazy',
    (d) => d.status.readyReplicas === 0 && /scaled to zero/.test(d.status.message ?? ''),
    'scaled to zero after 10 s idle',
    60_000,
  );
  await eventually(() => Promise.resolve(replicaPidsWithArg(e2e.home).length === 0 ? true : undefined), {
    timeoutMs: 20_000,
    intervalMs: 100,
    message: 'no replica process at zero',
  });
  const zero = await autoscaling('lazy');
  assert.equal(zero.state?.desiredReplicas, 0);
  assert.equal(zero.state?.lastDecision?.rule, 'idle');
  assert.ok(
    (await events('lazy')).some((e) => e.reason === 'ScaledToZero' && /idle|request/i.test(e.message)),
    'a ScaledToZero event with its reason',
  );

  const held = await infer('lazy');
  assert.equal(held.status, 200, await held.clone().text());
  assert.ok(held.headers.get('x-wharf-backend'), 'answered by a replica');
  await held.arrayBuffer();
  const back = (await events('lazy')).find((e) => e.reason === 'ScaledFromZero');
  assert.ok(back !== undefined, 'a ScaledFromZero event');
  const d = await get('lazy');
  assert.equal(d.revision, 1, 'scaling makes no revision');
});

test('concurrent requests above the per-replica target add a replica, explained by an event', async () => {
  await create({
    name: 'busy',
    model: { name: 'risk', version: '1.1.0' },
    configuration: { replicas: 1, scaling: { min: 1, max: 3, metric: 'concurrency', target: 2 } },
  });
  await settled('busy', (d) => d.status.readyReplicas === 1, 'one replica');
  let stop = false;
  const workers = Array.from({ length: 8 }, async () => {
    while (!stop) {
      const res = await infer('busy').catch(() => undefined);
      await res?.arrayBuffer();
    }
  });
  try {
    await settled(
      'busy',
      (d) => d.status.readyReplicas >= 2,
      'a second ready replica under 8 concurrent requests at 200 ms each',
      60_000,
    );
  } finally {
    stop = true;
    await Promise.all(workers);
  }
  const up = (await events('busy')).find((e) => e.reason === 'ScaledUp');
  assert.ok(up !== undefined, 'a ScaledUp event');
  assert.match(up.message, /in-flight/);
  const state = (await autoscaling('busy')).state;
  assert.equal(state?.lastDecision?.metric, 'concurrency');
  assert.equal(state?.lastDecision?.target, 2);

  const cli = startWharf(['deploy', 'get', 'busy', '-e', 'staging'], e2e.cliEnv());
  assert.equal(await cli.exited, 0, cli.stderr());
  assert.match(cli.stdout(), /autoscaling: 1–3 replicas on concurrency \(target 2 per replica/);
  assert.match(cli.stdout(), /last decision .*[12] → [23]: .*in-flight/);
  assert.match(cli.stdout(), /busy +staging +risk 1\.1\.0 +1 +\d\/[23] /, 'READY counts against the autoscaled size');

  const change = startWharf(
    ['deploy', 'autoscale', 'busy', '-e', 'staging', '--min', '1', '--max', '2', '--metric', 'rps', '--target', '100'],
    e2e.cliEnv(),
  );
  assert.equal(await change.exited, 0, change.stderr());
  const changed = await get('busy');
  assert.deepEqual(
    [
      changed.configuration.scaling.min,
      changed.configuration.scaling.max,
      changed.configuration.scaling.metric,
      changed.configuration.scaling.target,
    ],
    [1, 2, 'rps', 100],
  );
  assert.equal(changed.revision, 2, 'a scaling spec change is a revision');
  const refused = startWharf(['deploy', 'autoscale', 'busy', '-e', 'staging', '--min', '3', '--max', '2'], {
    ...e2e.cliEnv(),
  });
  assert.notEqual(await refused.exited, 0);
  assert.match(refused.stderr(), /configuration\.scaling\.max/);
});

test('a failing TCP dependency keeps the deployment unready with a condition naming it, until it answers', async () => {
  const port = await freePort();
  await create({
    name: 'needy',
    model: { name: 'risk', version: '1.0.0' },
    configuration: {
      replicas: 1,
      healthCheck: {
        interval: 0.5,
        timeout: 0.25,
        retries: 1,
        dependencies: [{ name: 'feature-store', tcp: `127.0.0.1:${port}` }],
      },
    },
  });
  const blocked = await settled(
    'needy',
    (d) => d.status.conditions.some((c) => c.type === 'DependenciesReady' && c.status === 'False'),
    'the dependency condition',
  );
  const condition = blocked.status.conditions.find((c) => c.type === 'DependenciesReady')!;
  assert.match(condition.message, /feature-store/);
  assert.equal(blocked.status.readyReplicas, 0);
  assert.equal((await infer('needy')).status, 503, 'no ready replica while the dependency fails');

  const server: Server = createServer((socket) => socket.end());
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  try {
    const ok = await settled(
      'needy',
      (d) => d.status.readyReplicas === 1 && d.status.phase === 'running',
      'ready once the dependency answers',
    );
    assert.equal(ok.status.conditions.find((c) => c.type === 'DependenciesReady')?.status, 'True');
    assert.equal((await infer('needy')).status, 200);
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
});

test('a replica answering 5xx is ejected by the gateway and the ejection is a deployment event', async () => {
  await create({ name: 'flaky', model: { name: 'risk', version: '9.0.0' }, configuration: { replicas: 2 } });
  await settled('flaky', (d) => d.status.readyReplicas === 2, 'two replicas');
  for (let i = 0; i < 30; i++) await (await infer('flaky')).arrayBuffer();
  const ejected = await eventually(async () => (await events('flaky')).find((e) => e.reason === 'ReplicaEjected'), {
    timeoutMs: 10_000,
    intervalMs: 100,
    message: 'a ReplicaEjected event',
  });
  assert.equal(ejected.type, 'Warning');
  assert.match(ejected.message, /5 consecutive|5xx/);
  const metrics = await (await fetch(`${e2e.cp.gatewayUrl}/metrics`)).text();
  assert.match(metrics, /wharf_gateway_ejections_total\{[^}]*deployment="flaky"[^}]*\} [1-9]/);
});

test('a replica above its memory limit is killed, reported OOMKilled on the deployment, and restarted', async () => {
  await create({
    name: 'greedy',
    model: { name: 'risk', version: '1.0.0' },
    configuration: { replicas: 1, resources: { memory: '16Mi', limits: { memory: '20Mi' } } },
  });
  const d = await settled(
    'greedy',
    (x) => x.status.lastTermination?.reason === 'OOMKilled',
    'an OOMKilled termination on the status',
    60_000,
  );
  assert.match(d.status.lastTermination!.message, /exceeded the limit 20Mi/);
  const oom = (await events('greedy')).find((e) => e.reason === 'OOMKilled');
  assert.ok(oom !== undefined && oom.type === 'Warning', 'an OOMKilled event');
  assert.match(oom.message, /replica greedy-1-\d+: memory/);
  const del = await api(path('greedy'), { method: 'DELETE' });
  assert.equal(del.status, 202);
  await eventually(async () => ((await api(path('greedy'))).status === 404 ? true : undefined), {
    timeoutMs: 30_000,
    intervalMs: 100,
    message: 'greedy deleted',
  });
});

test('bad autoscaling input is refused with the field and the rule, and changes nothing', async () => {
  const before = await get('busy');
  const cases: [unknown, RegExp][] = [
    [{ scaling: { min: 3, max: 2 } }, /configuration\.scaling\.max/],
    [{ scaling: { metric: 'gpu' } }, /configuration\.scaling\.metric/],
    [
      { scaling: { schedules: [{ name: 'office', start: '0 9 * * 1-5', end: 'not cron' }] } },
      /configuration\.scaling\.schedules\[0\]\.end/,
    ],
    [
      {
        scaling: {
          schedules: [{ name: 'office', start: '0 9 * * 1-5', end: '0 18 * * 1-5', timezone: 'Mars/Olympus' }],
        },
      },
      /timezone/,
    ],
    [
      { healthCheck: { dependencies: [{ name: 'db', tcp: 'nohost' }] } },
      /configuration\.healthCheck\.dependencies\[0\]\.tcp/,
    ],
    [{ resources: { memory: '512Mi', limits: { memory: '256Mi' } } }, /configuration\.resources\.limits\.memory/],
  ];
  for (const [configuration, field] of cases) {
    const res = await api(path('busy'), { method: 'PATCH', json: { configuration } });
    assert.equal(res.status, 400, `${JSON.stringify(configuration)} → ${JSON.stringify(res.body)}`);
    assert.match(JSON.stringify(res.body), field);
  }
  const after = await get('busy');
  assert.equal(after.revision, before.revision, 'no revision was made');
});
