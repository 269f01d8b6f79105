/**
 * The README's canary end to end, with no traffic, so its step analysis and its background guard
 * both end inconclusive and pause the rollout at 20% (issue 12, items 2 and 3): `apply --wait` says
 * it is paused and fails at its timeout instead of reporting success; each `promote` moves the
 * weights one step and `--full` finishes; after an abort the list shows the old version serving.
 * A real control plane (SQLite, local runtime, gateway) with real model replicas.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, test } from 'node:test';
import type { Deployment, Revision } from '../src/core/resources.js';
import { type E2eControlPlane, startE2eControlPlane } from './support/control-plane-e2e.js';
import { EXIT_CODES } from '../src/cli/exit-codes.js';
import { WHARF_BIN } from './support/processes.js';

let e2e: E2eControlPlane;

before(async () => {
  e2e = await startE2eControlPlane(
    'wharf-rollout-paused-',
    { '1.0.0': {}, '1.1.0': {}, '1.2.0': {} },
    { drainMs: 500 },
  );
});

after(() => e2e?.stop());

const api = (path: string, init: RequestInit & { json?: unknown } = {}) => e2e.api(path, init);

/** The README's canary, at `version`, with one replica so every weight is one canary replica. */
const document = (version: string): string => `name: risk
environment: staging
model: { name: risk, version: ${version} }
configuration: { replicas: 1 }
strategy:
  type: canary
  canary:
    steps:
      - setWeight: 20
      - analysis: { template: default }
      - setWeight: 50
      - pause: {}
      - setWeight: 100
    analysis: { template: success-rate, args: { min: 0.995 } }
    scaleDownDelaySeconds: 30
`;

function cli(args: string[], input?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = { ...process.env, ...e2e.cliEnv() };
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [WHARF_BIN, ...args], { env }, (error, stdout, stderr) =>
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
    if (input !== undefined) child.stdin!.end(input);
  });
}

const weights = (d: Deployment) =>
  (d.status.rollout?.traffic.targets ?? []).map((t) => `${t.revision}:${t.weight}`).join(' ');
const bothInconclusive = (d: Deployment) =>
  d.status.rollout?.phase === 'Paused' &&
  d.status.rollout.analysis?.phase === 'inconclusive' &&
  d.status.rollout.backgroundAnalysis?.phase === 'inconclusive';

test('apply --wait on a canary paused by inconclusive analyses reports the pause and fails at its timeout', async () => {
  const first = await cli(['deploy', 'apply', '-f', '-', '--wait', '--timeout', '60'], document('1.0.0'));
  assert.equal(first.code, 0, first.stderr);
  const applied = await cli(['deploy', 'apply', '-f', '-'], document('1.1.0'));
  assert.equal(applied.code, 0, applied.stderr);
  const paused = await e2e.settled(
    'staging',
    'risk',
    bothInconclusive,
    'the step analysis and the guard to be inconclusive (no traffic)',
  );
  assert.equal(weights(paused), '1:80 2:20');
  assert.equal(paused.status.phase, 'running', 'the deployment itself serves: every replica is ready');

  const waited = await cli(['deploy', 'apply', '-f', '-', '--wait', '--timeout', '2'], document('1.1.0'));
  assert.equal(
    waited.code,
    EXIT_CODES.failed.code,
    `--wait must not report success on a paused canary: ${waited.stdout}`,
  );
  assert.match(waited.stdout, /paused at step 2\/5 \(20%\): waiting for promote/);
  assert.match(
    waited.stderr,
    /timed out after 2 s waiting for risk: paused at step 2\/5 \(20%\): waiting for promote \(wharf deploy promote risk -e staging\); analysis .* was inconclusive/,
  );
});

test('promote after inconclusive analyses moves the weights one step per request; --full finishes', async () => {
  const before = await e2e.settled('staging', 'risk', bothInconclusive, 'the paused canary of the previous test');
  const promote = await api('/api/v1/environments/staging/deployments/risk/promote', { method: 'POST', json: {} });
  assert.equal(promote.status, 200, JSON.stringify(promote.body));
  const moved = await e2e.settled(
    'staging',
    'risk',
    (d) => d.status.rollout?.weight === 50 && d.status.rollout.phase === 'Paused',
    'the promote to move the canary to 50%',
    20_000,
  );
  assert.equal(moved.status.rollout?.stepIndex, 3, 'one step past the analysis: the untimed pause, not beyond');
  assert.equal(weights(moved), `1:50 ${before.status.rollout!.canary}:50`);
  assert.equal(
    moved.status.rollout?.handledRequest,
    (promote.body as unknown as Deployment).rolloutRequests?.at(-1)?.id,
    'the promote was handled',
  );

  const full = await api('/api/v1/environments/staging/deployments/risk/promote', {
    method: 'POST',
    json: { full: true },
  });
  assert.equal(full.status, 200, JSON.stringify(full.body));
  const done = await e2e.settled(
    'staging',
    'risk',
    (d) => d.status.rollout?.phase === 'Healthy' && d.status.rollout.stable === before.status.rollout!.canary,
    'the full promotion',
    20_000,
  );
  assert.equal(weights(done), `${before.status.rollout!.canary}:100`);
  assert.deepEqual(done.status.serving, [
    { revision: before.status.rollout!.canary, weight: 100, model: { name: 'risk', version: '1.1.0' } },
  ]);
  const waited = await cli(['deploy', 'apply', '-f', '-', '--wait', '--timeout', '30'], document('1.1.0'));
  assert.equal(waited.code, 0, `a finished rollout is what --wait waits for: ${waited.stderr}`);
});

test('after an abort the list and the table show the old version serving, and --wait fails with the reason', async () => {
  const applied = await cli(['deploy', 'apply', '-f', '-'], document('1.2.0'));
  assert.equal(applied.code, 0, applied.stderr);
  const canary = await e2e.settled(
    'staging',
    'risk',
    (d) => d.status.rollout?.weight === 20 && d.model?.version === '1.2.0',
    'the new canary at 20%',
  );
  assert.equal(canary.status.serving?.length, 2, 'both revisions serve during the canary');
  const abort = await api('/api/v1/environments/staging/deployments/risk/abort', { method: 'POST', json: {} });
  assert.equal(abort.status, 200, JSON.stringify(abort.body));
  const aborted = await e2e.settled(
    'staging',
    'risk',
    (d) => d.status.phase === 'failed' && d.status.serving?.length === 1,
    'the abort',
  );
  const stable = aborted.status.rollout!.stable!;
  const stableSpec = (await api(`/api/v1/environments/staging/deployments/risk/revisions/${stable}`))
    .body as unknown as Revision;
  assert.equal(aborted.model?.version, '1.2.0', 'the spec still asks for the new version');
  assert.deepEqual(aborted.status.serving, [{ revision: stable, weight: 100, model: stableSpec.spec.model }]);
  assert.notEqual(stableSpec.spec.model?.version, '1.2.0');

  const list = await cli(['deploy', 'list', '-e', 'staging']);
  assert.equal(list.code, 0, list.stderr);
  const [header, row] = list.stdout.trim().split('\n');
  assert.match(header ?? '', /MODEL\s+REVISION\s+READY\s+PHASE\s+SERVING/);
  assert.match(
    row ?? '',
    new RegExp(
      `risk 1\\.2\\.0\\s+${aborted.revision}\\s+\\S+\\s+failed\\s+r${stable} risk ${stableSpec.spec.model!.version.replace(/\./g, '\\.')}\\s`,
    ),
  );
  const get = await cli(['deploy', 'get', 'risk', '-e', 'staging']);
  assert.match(
    get.stdout,
    new RegExp(`failed\\s+r${stable} risk ${stableSpec.spec.model!.version.replace(/\./g, '\\.')}`),
  );

  const waited = await cli(['deploy', 'apply', '-f', '-', '--wait', '--timeout', '30'], document('1.2.0'));
  assert.equal(waited.code, EXIT_CODES.failed.code);
  assert.match(waited.stderr, /deployment risk failed: rollout of revision \d+ aborted: aborted by alice/);
});
