/**
 * The seed stack (../shared/baselines/seed-stack: FastAPI + scikit-learn, unchanged) deployed as
 * `type: application` on a real control plane, called through the gateway:
 * - a rollback under load fails no request;
 * - a canary to a release whose /predict answers 500 on purpose is stopped by its analysis, and
 *   traffic is back on the stable revision;
 * - `kill -9` of one of its processes is replaced.
 * The app runs from the seed stack's folder (PYTHONPATH), wrapped by test/fixtures/seed-stack-app
 * for its two test hooks; no bundle until `wharf app push` exists.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { type E2eControlPlane, startE2eControlPlane } from './support/control-plane-e2e.js';
import { ensureDebianPackages } from './support/debian.js';
import { seedStackDir } from './support/seed-stack.js';
import { eventually } from './support/eventually.js';
import { REPO_ROOT } from './support/processes.js';

const seedStack = seedStackDir();
const wrapper = join(REPO_ROOT, 'test', 'fixtures', 'seed-stack-app');

let e2e: E2eControlPlane | undefined;
let sample = '';

before(async () => {
  e2e = await startE2eControlPlane('wharf-seed-app-', {}, { drainMs: 500 });
});
after(() => e2e?.stop());

const gateway = (path: string) => `${e2e!.cp.gatewayUrl}/staging/seed${path}`;
const deployment = (env: Record<string, string>, strategy: Record<string, unknown> = { type: 'rolling' }) => ({
  name: 'seed',
  environment: 'staging',
  type: 'application',
  configuration: {
    command: ['/usr/bin/python3', '-m', 'uvicorn', 'seed_app:app'],
    args: ['--host', '127.0.0.1', '--port', '$(PORT)', '--log-level', 'warning'],
    workingDir: wrapper,
    env: Object.entries({ PYTHONPATH: seedStack, MODEL: join(e2e!.home, 'seed-model', 'model.pkl'), ...env }).map(
      ([name, value]) => ({ name, value }),
    ),
    replicas: 2,
    healthCheck: { path: '/health' },
  },
  strategy,
});
const predict = () =>
  fetch(gateway('/predict'), { method: 'POST', headers: { 'content-type': 'application/json' }, body: sample });

/** Requests in a loop until stopped; the statuses that were not 200. */
function load() {
  let stop = false;
  const failures: string[] = [];
  let sent = 0;
  const run = async () => {
    while (!stop) {
      sent++;
      try {
        const r = await predict();
        if (r.status !== 200) failures.push(`${r.status} ${await r.text()}`);
        else await r.arrayBuffer();
      } catch (error) {
        failures.push((error as Error).message);
      }
    }
  };
  const loops = [run(), run(), run(), run()];
  return {
    failures,
    sent: () => sent,
    async stop() {
      stop = true;
      await Promise.all(loops);
    },
  };
}

test('the seed stack as an application: rollback under load, a failing canary stopped by analysis, kill -9 replaced', async (t) => {
  if (!existsSync(join(seedStack, 'app.py'))) return t.skip(`no seed stack at ${seedStack} (set WHARF_BASELINES_DIR)`);
  if (!ensureDebianPackages(t, ['python3-fastapi', 'python3-uvicorn', 'python3-sklearn'])) return;
  const out = join(e2e!.home, 'seed-model');
  const trained = spawnSync('/usr/bin/python3', ['train.py', out, '--rows', '2000'], {
    cwd: seedStack,
    encoding: 'utf8',
    timeout: 120_000,
  });
  assert.equal(trained.status, 0, trained.stderr);
  sample = readFileSync(join(out, 'sample.json'), 'utf8');
  const api = e2e!.api;
  const path = (rest = '') => `/api/v1/environments/staging/deployments/seed${rest}`;

  const created = await api('/api/v1/deployments', { method: 'POST', json: deployment({ VARIANT: 'v1' }) });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  await e2e!.settled(
    'staging',
    'seed',
    (d) => d.status.readyReplicas === 2 && d.status.phase === 'running',
    'v1 ready',
    60_000,
  );
  const first = await predict();
  assert.equal(first.status, 200);
  const { predictions } = (await first.json()) as { predictions: number[] };
  assert.ok(predictions.length === 1 && predictions[0]! > 0 && predictions[0]! < 1, JSON.stringify(predictions));

  // v1b, then a rollback to v1 while four clients keep calling: no request fails.
  const { name: _n, environment: _e, type: _t, ...patch } = deployment({ VARIANT: 'v1b' });
  const updated = await api(path(), { method: 'PATCH', json: patch });
  assert.equal(updated.status, 200, JSON.stringify(updated.body));
  await e2e!.settled(
    'staging',
    'seed',
    (d) => d.revision === 2 && d.status.readyReplicas === 2 && d.status.rollout?.phase === 'Healthy',
    'v1b ready',
  );
  const traffic = load();
  try {
    const rolledBack = await api(path('/rollback'), { method: 'POST', json: {} });
    assert.equal(rolledBack.status, 200, JSON.stringify(rolledBack.body));
    await e2e!.settled(
      'staging',
      'seed',
      (d) => d.revision === 3 && d.status.readyReplicas === 2 && d.status.rollout?.phase === 'Healthy',
      'rolled back',
    );
    await eventually(
      async () => ((await (await fetch(gateway('/pid'))).json()) as { variant: string }).variant === 'v1',
      { timeoutMs: 10_000, message: 'v1 answers again' },
    );
  } finally {
    await traffic.stop();
  }
  assert.ok(traffic.sent() > 20, `load was sent (${traffic.sent()})`);
  assert.deepEqual(traffic.failures, [], 'no request failed during the rollback');

  // A canary to a release that answers 500 on purpose: its analysis stops it.
  const canary = deployment(
    { VARIANT: 'v2', FAIL: '1' },
    {
      type: 'canary',
      canary: { steps: [{ setWeight: 50 }, { analysis: { template: 'default' } }, { setWeight: 100 }] },
    },
  );
  const { name: _n2, environment: _e2, type: _t2, ...canaryPatch } = canary;
  const bad = load();
  try {
    assert.equal((await api(path(), { method: 'PATCH', json: canaryPatch })).status, 200);
    await e2e!.settled(
      'staging',
      'seed',
      (d) => d.status.rollout?.phase === 'Aborted',
      'the canary stopped by its analysis',
      60_000,
    );
  } finally {
    await bad.stop();
  }
  assert.ok(bad.failures.length > 0, 'the canary did answer 500s (the analysis had something to see)');
  for (let i = 0; i < 10; i++) assert.equal((await predict()).status, 200, 'after the abort, stable serves');

  // kill -9 one replica's process: it is replaced.
  const { pid } = (await (await fetch(gateway('/pid'))).json()) as { pid: number };
  process.kill(pid, 'SIGKILL');
  await eventually(
    async () => {
      const d = await e2e!.get('staging', 'seed');
      if (d.status.readyReplicas !== 2) return undefined;
      const pids = new Set<number>();
      for (let i = 0; i < 8; i++) pids.add(((await (await fetch(gateway('/pid'))).json()) as { pid: number }).pid);
      return !pids.has(pid) && pids.size === 2;
    },
    {
      // The replacement is a fresh uvicorn importing scikit-learn after the restart back-off: on a
      // loaded 2-core CI machine that took over 30 s once.
      timeoutMs: 60_000,
      intervalMs: 200,
      message: 'the killed process replaced: two ready replicas, neither the killed pid',
    },
  );
});
