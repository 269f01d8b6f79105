/**
 * Rollouts end to end on one machine: a real control plane (SQLite, local runtime, gateway, API)
 * with real model replicas. A canary whose model version fails every inference (test-only fault
 * label) is aborted by its analysis while serving 20%, all traffic goes back to stable, and an
 * incident is recorded; a blue-green revision is reachable on its preview endpoint and switches on
 * promote; a rollback to the warm previous revision moves all traffic at once. Nothing is left running.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { FAULT_LABELS } from '../src/workloads/onnx-model/test-faults.js';
import type { Incident } from '../src/core/resources.js';
import { type E2eControlPlane, startE2eControlPlane } from './support/control-plane-e2e.js';
import { WHARF_BIN } from './support/processes.js';
import { execFile } from 'node:child_process';
import { eventually } from './support/eventually.js';

let e2e: E2eControlPlane;

before(async () => {
  e2e = await startE2eControlPlane(
    'wharf-rollout-',
    { '1.0.0': {}, '1.1.0': {}, '2.0.0': { [FAULT_LABELS.errorRate]: '1' } },
    // The bad canary is a test-fault label: honoured only with the switch on.
    { drainMs: 500, testFaults: true },
  );
});

after(() => e2e?.stop());

const api = (path: string, init: RequestInit & { json?: unknown; as?: string } = {}) => e2e.api(path, init);
const get = (env: string, name: string) => e2e.get(env, name);
const infer = (env: string, name: string, suffix = '') => e2e.infer(env, name, suffix);
const settled: E2eControlPlane['settled'] = (...args) => e2e.settled(...args);

/** Sends requests one after another until `stop` is set; counts answers by revision and failures. */
function load() {
  const state = { stop: false, byRevision: new Map<string, number>(), failed: 0, total: 0 };
  const done = (async () => {
    while (!state.stop) {
      const res = await infer('staging', 'risk').catch(() => undefined);
      state.total++;
      if (res === undefined || res.status !== 200) state.failed++;
      const rev = res?.headers.get('x-wharf-revision') ?? 'none';
      state.byRevision.set(rev, (state.byRevision.get(rev) ?? 0) + 1);
      await res?.arrayBuffer();
    }
  })();
  return {
    state,
    stop: async () => {
      state.stop = true;
      await done;
    },
  };
}

test('a bad canary at 20% is aborted by its analysis: traffic back on stable, incident recorded', async () => {
  const created = await api('/api/v1/deployments', {
    method: 'POST',
    json: {
      name: 'risk',
      environment: 'staging',
      model: { name: 'risk', version: '1.0.0' },
      configuration: { replicas: 2 },
      strategy: {
        type: 'canary',
        canary: { steps: [{ setWeight: 20 }, { analysis: { template: 'success-rate' } }, { setWeight: 100 }] },
      },
    },
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  await settled(
    'staging',
    'risk',
    (d) => d.status.phase === 'running' && d.status.readyReplicas === 2,
    'revision 1 running',
  );

  const traffic = load();
  try {
    const updated = await api('/api/v1/environments/staging/deployments/risk', {
      method: 'PATCH',
      json: { model: { version: '2.0.0' } },
    });
    assert.equal(updated.status, 200, JSON.stringify(updated.body));
    const failed = await settled('staging', 'risk', (d) => d.status.phase === 'failed', 'the canary to be aborted');
    assert.equal(failed.status.rollout?.phase, 'Aborted');
    assert.match(failed.status.message ?? '', /analysis success-rate failed: success-rate 0 < min 0\.99/);
    assert.deepEqual(failed.status.rollout?.traffic.targets, [{ revision: 1, weight: 100 }]);
    const before = traffic.state.failed;
    // 50 requests answered after the abort, each of which had a 1 in 5 chance of the bad canary before it.
    const sent = traffic.state.total;
    await eventually(() => traffic.state.total >= sent + 50, {
      timeoutMs: 30_000,
      message: '50 requests after the abort',
    });
    assert.equal(traffic.state.failed, before, 'after the abort no request fails');
  } finally {
    await traffic.stop();
  }
  assert.ok(traffic.state.failed > 0, 'the bad canary did serve (and fail) some requests before the abort');
  assert.ok(
    traffic.state.failed < traffic.state.total / 2,
    `most requests succeeded (${traffic.state.failed}/${traffic.state.total} failed)`,
  );
  const incidents = (await api('/api/v1/incidents?environment=staging')).body.items as Incident[];
  assert.equal(incidents.length, 1);
  assert.match(incidents[0]!.message, /aborted automatically: analysis success-rate failed/);

  const retry = await api('/api/v1/environments/staging/deployments/risk/promote', { method: 'POST', json: {} });
  assert.equal(retry.status, 400, 'nothing to promote once aborted');
  assert.match(JSON.stringify(retry.body), /nothing to promote/);
});

test('blue-green: preview endpoint, promote switches at once, rollback to the warm revision is instant', async () => {
  const apply = await api('/api/v1/environments/staging/deployments/risk', {
    method: 'PATCH',
    json: {
      model: { version: '1.1.0' },
      strategy: { type: 'blue-green', blueGreen: { scaleDownDelaySeconds: 60 } },
    },
  });
  assert.equal(apply.status, 200, JSON.stringify(apply.body));
  const paused = await settled(
    'staging',
    'risk',
    (d) => d.status.rollout?.phase === 'Paused' && d.endpoints.preview !== undefined,
    'the preview to be ready',
  );
  const canary = paused.status.rollout!.canary!;
  const preview = await eventually(
    async () => {
      const res = await infer('staging', 'risk', '~preview');
      await res.arrayBuffer();
      return res.status === 200 ? res : undefined;
    },
    { timeoutMs: 30_000, intervalMs: 100, message: 'the preview route' },
  );
  assert.equal(preview.headers.get('x-wharf-revision'), String(canary));
  const active = await infer('staging', 'risk');
  await active.arrayBuffer();
  assert.equal(active.headers.get('x-wharf-revision'), '1', 'the active revision serves until promoted');

  const promote = await api('/api/v1/environments/staging/deployments/risk/promote', { method: 'POST', json: {} });
  assert.equal(promote.status, 200, JSON.stringify(promote.body));
  await settled(
    'staging',
    'risk',
    (d) => d.status.rollout?.phase === 'Healthy' && d.status.rollout.stable === canary,
    'the switch',
  );
  await eventually(
    async () => {
      const res = await infer('staging', 'risk');
      await res.arrayBuffer();
      return res.headers.get('x-wharf-revision') === String(canary) ? true : undefined;
    },
    { timeoutMs: 5_000, intervalMs: 100, message: 'traffic on the new revision' },
  );

  const started = Date.now();
  const rollback = await api('/api/v1/environments/staging/deployments/risk/rollback', {
    method: 'POST',
    json: { toRevision: 1 },
  });
  assert.equal(rollback.status, 200, JSON.stringify(rollback.body));
  await eventually(
    async () => {
      const res = await infer('staging', 'risk');
      await res.arrayBuffer();
      return res.headers.get('x-wharf-revision') === '1' ? true : undefined;
    },
    { timeoutMs: 5_000, intervalMs: 100, message: 'traffic back on revision 1' },
  );
  const ms = Date.now() - started;
  const d = await get('staging', 'risk');
  assert.equal(d.status.rollout?.stable, 1, `the warm revision 1 was reused (switched in ${ms} ms)`);
  const revisions = (await api('/api/v1/environments/staging/deployments/risk/revisions')).body.items as {
    number: number;
    reason: string;
  }[];
  assert.equal(revisions.at(-1)?.reason, 'rollback to revision 1', 'the rollback is a new revision with its reason');
});

test('approvals: production changes wait for a second person; the requester cannot approve', async () => {
  const policy = await api('/api/v1/environments/production', {
    method: 'PATCH',
    json: { policies: { requiresApproval: true } },
  });
  assert.equal(policy.status, 200);
  const asked = await api('/api/v1/deployments/risk/promotions', {
    method: 'POST',
    json: { from: 'staging', to: 'production' },
  });
  assert.equal(asked.status, 202, JSON.stringify(asked.body));
  const approval = asked.body.approval as { id: string; summary: string };
  assert.match(
    approval.summary,
    /promote risk revision \d+ \(risk 1\.0\.0, sha256:[0-9a-f]{64}\) from staging to production/,
  );
  assert.equal(
    (await api('/api/v1/environments/production/deployments/risk')).status,
    404,
    'nothing applied before approval',
  );
  const self = await api(`/api/v1/approvals/${approval.id}/approve`, { method: 'POST', json: {} });
  assert.equal(self.status, 403);
  const bob = await api(`/api/v1/approvals/${approval.id}/approve`, {
    method: 'POST',
    json: {},
    as: await e2e.tokenFor('bob'),
  });
  assert.equal(bob.status, 200, JSON.stringify(bob.body));
  const prod = await get('production', 'risk');
  assert.equal(prod.model?.version, '1.0.0');
  assert.equal(prod.metadata.deployedBy, 'alice', 'applied on behalf of the requester');
  await api('/api/v1/environments/production/deployments/risk', { method: 'DELETE' });
});

test('deploy get -o yaml | deploy apply -f - changes nothing; a changed field makes one revision', async () => {
  const env = { ...process.env, ...e2e.cliEnv() };
  const cli = (args: string[], input?: string) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      const child = execFile(process.execPath, [WHARF_BIN, ...args], { env }, (error, stdout, stderr) =>
        resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      );
      if (input !== undefined) child.stdin!.end(input);
    });
  const yaml = await cli(['deploy', 'get', 'risk', '-e', 'staging', '-o', 'yaml']);
  assert.equal(yaml.code, 0, yaml.stderr);
  const before = await get('staging', 'risk');
  const same = await cli(['deploy', 'apply', '-f', '-'], yaml.stdout);
  assert.equal(same.code, 0, same.stderr);
  assert.match(same.stdout, /unchanged/);
  assert.equal((await get('staging', 'risk')).revision, before.revision);
  const changed = await cli(['deploy', 'apply', '-f', '-'], yaml.stdout.replace(/replicas: 2\n/, 'replicas: 3\n'));
  assert.equal(changed.code, 0, changed.stderr);
  assert.equal((await get('staging', 'risk')).revision, before.revision + 1);
  const bad = await cli(
    ['deploy', 'apply', '-f', '-'],
    'name: risk\nenvironment: staging\nstrategy: { type: canary, canry: {} }\n',
  );
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /strategy/);
  assert.equal((await get('staging', 'risk')).revision, before.revision + 1, 'a rejected document changes nothing');
});
