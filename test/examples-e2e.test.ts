/**
 * The four stacks of `examples/` end to end on a real control plane (SQLite, local runtime, real
 * replica processes, the gateway process): each stack.yaml is applied with `wharf deploy apply -f`
 * and called through the gateway for a real answer. See `support/examples.ts` for how a bundle is
 * stood in for until `wharf app push` exists. Python parts use Debian's packages.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { type E2eControlPlane, startE2eControlPlane } from './support/control-plane-e2e.js';
import { brokerOrSkip } from './support/brokers.js';
import { ensureDebianPackages } from './support/debian.js';
import { eventually } from './support/eventually.js';
import { applyStack, probabilityOf, pushReadmission, readmissionBody, stackOf } from './support/examples.js';

let e2e: E2eControlPlane;

before(async () => {
  e2e = await startE2eControlPlane('wharf-examples-', {}, { drainMs: 200 });
  await pushReadmission(e2e, ['1.0.0', '1.1.0']);
});
after(() => e2e?.stop());

const gateway = (path: string) => `${e2e.cp.gatewayUrl}${path}`;
const FEATURES = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1, 1.1, 1.2, 1.3, 1.4, 1.5, 1.6];

test('clinical-inference: the frontend is served through the gateway and its API URL answers a risk', async (t) => {
  if (!ensureDebianPackages(t, ['python3'])) return;
  await applyStack(e2e, await stackOf('clinical-inference', { 'clinical-frontend': 'frontend' }), 'clinical.yaml');
  const page = await fetch(gateway('/staging/clinical-frontend/'));
  assert.equal(page.status, 200);
  assert.match(await page.text(), /<title>Clinical inference: 30-day readmission risk<\/title>/);
  const script = await (await fetch(gateway('/staging/clinical-frontend/app.js'))).text();
  const inferUrl = /INFER_URL = '([^']+)'/.exec(script)?.[1];
  assert.ok(inferUrl !== undefined, 'the page script names the API URL');
  // The browser resolves it against the page: the same origin, through the gateway.
  const url = new URL(inferUrl, gateway('/staging/clinical-frontend/'));
  assert.equal(url.origin, new URL(e2e.cp.gatewayUrl).origin);
  const answer = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: readmissionBody(FEATURES),
  });
  assert.equal(answer.status, 200);
  probabilityOf(await answer.json());
});

test('mlmcsc: the FastAPI API queues extraction, the Celery worker answers; the API is updated blue-green', async (t) => {
  if (!ensureDebianPackages(t, ['python3-fastapi', 'python3-uvicorn', 'python3-celery', 'python3-redis'])) return;
  const redis = await brokerOrSkip(t, 'redis');
  if (redis === undefined) return;
  const queue = `mlmcsc-extract-${randomBytes(3).toString('hex')}`; // runs of this test must not share a queue
  const stack = (version: string) =>
    stackOf('mlmcsc', { mlmcsc: 'app' }, (text) =>
      text.replaceAll('mlmcsc-extract', queue).replace("API_VERSION, value: '1'", `API_VERSION, value: '${version}'`),
    );
  await applyStack(e2e, await stack('1'), 'mlmcsc.yaml');
  const extract = async () => {
    const r = await fetch(gateway('/staging/mlmcsc-api/extract?wait=20'), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ values: [1, 2, 3, 5, 8] }),
    });
    const body = (await r.json()) as { features?: Record<string, number>; version: string };
    assert.equal(r.status, 200, JSON.stringify(body));
    return body;
  };
  const first = await extract();
  assert.deepEqual(
    { count: first.features?.count, mean: first.features?.mean, slope: first.features?.slope },
    { count: 5, mean: 3.8, slope: 1.7 },
  );
  assert.equal(first.version, '1');
  const worker = (await e2e.api('/api/v1/environments/staging/deployments/mlmcsc-worker/autoscaling')).body;
  assert.equal((worker.state as { observed?: { metric: string } } | null)?.observed?.metric, 'queue');

  await applyStack(e2e, await stack('2'), 'mlmcsc-v2.yaml');
  const second = await eventually(async () => ((await extract()).version === '2' ? extract() : undefined), {
    timeoutMs: 30_000,
    intervalMs: 200,
    message: 'the green side (API_VERSION 2) answers',
  });
  assert.equal(second.features?.mean, 3.8);
  const api = await e2e.get('staging', 'mlmcsc-api');
  assert.equal(api.strategy?.type, 'blue-green');
});
