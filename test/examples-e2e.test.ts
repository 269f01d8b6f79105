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
import pg_ from 'pg';
import { createTestDatabase } from './support/postgres.js';
import { startWharf } from './support/processes.js';
import { applyStack, probabilityOf, pushReadmission, readmissionBody, stackOf } from './support/examples.js';

const { Client } = pg_;
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

test('readmission: features from the feature server score on the model; the model depends on it; a canary of 1.1.0 completes', async (t) => {
  if (!ensureDebianPackages(t, ['python3'])) return;
  const docs = await stackOf('readmission', { 'readmission-features': 'feature-server' }, (text) =>
    text.replace('http://127.0.0.1:8000', e2e.cp.gatewayUrl),
  );
  await applyStack(e2e, docs, 'readmission.yaml');
  const features = (await (await fetch(gateway('/staging/feature-server/features/patient-42'))).json()) as {
    features: number[];
  };
  assert.equal(features.features.length, 16);
  const score = () =>
    fetch(gateway('/staging/readmission/v2/models/readmission/infer'), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: readmissionBody(features.features),
    });
  const answer = await score();
  assert.equal(answer.status, 200);
  probabilityOf(await answer.json());

  // The dependency: with the feature server at zero the model is not ready, naming it; back, it is.
  const scale = (replicas: number) =>
    e2e.api('/api/v1/environments/staging/deployments/feature-server/scale', { method: 'POST', json: { replicas } });
  assert.equal((await scale(0)).status, 200);
  await e2e.settled(
    'staging',
    'readmission',
    (d) =>
      d.status.conditions.some(
        (c) => c.type === 'DependenciesReady' && c.status === 'False' && /feature-server/.test(c.message ?? ''),
      ),
    'the model not ready while feature-server fails',
  );
  assert.equal((await scale(1)).status, 200);
  await e2e.settled('staging', 'readmission', (d) => d.status.readyReplicas === 2, 'ready again with its dependency');

  // The canary: the same document at 1.1.0, under a trickle of traffic for the analysis.
  const canary = docs.map((d) =>
    d.name === 'readmission' ? { ...d, model: { name: 'readmission', version: '1.1.0' } } : d,
  );
  let stop = false;
  const failures: number[] = [];
  const traffic = (async () => {
    while (!stop) {
      const r = await score();
      if (r.status !== 200) failures.push(r.status);
      await r.arrayBuffer();
    }
  })();
  try {
    await applyStack(e2e, canary, 'readmission-canary.yaml');
    await e2e.settled(
      'staging',
      'readmission',
      (d) =>
        d.model?.version === '1.1.0' && d.status.rollout?.canary === undefined && d.status.rollout?.phase === 'Healthy',
      'the canary of 1.1.0 promoted by its analysis',
    );
  } finally {
    stop = true;
    await traffic;
  }
  assert.deepEqual(failures, [], 'no request failed during the canary');
});

test('template-api: predictions cached in Redis and stored in PostgreSQL, credentials as secrets, Prometheus metrics', async (t) => {
  if (!ensureDebianPackages(t, ['python3-psycopg2', 'python3-redis'])) return;
  const redis = await brokerOrSkip(t, 'redis');
  if (redis === undefined) return;
  const database = await createTestDatabase();
  if ('skip' in database) return t.skip(database.skip);
  t.after(() => database.drop());
  // The stores' URLs are a secret of the environment, set with the real CLI.
  const secret = startWharf(
    [
      'secret',
      'set',
      'template-api-stores',
      '-e',
      'staging',
      '--from-literal',
      `database_url=${database.url}`,
      '--from-literal',
      `redis_url=${redis}`,
    ],
    e2e.cliEnv(),
  );
  assert.equal(await secret.exited, 0, secret.stderr());
  // A version of this run: the Redis cache is the machine's, shared with earlier runs.
  const version = randomBytes(3).toString('hex');
  const docs = await stackOf('template-api', { 'template-api': 'app' }, (text) =>
    text.replace("MODEL_VERSION, value: '1'", `MODEL_VERSION, value: '${version}'`),
  );
  await applyStack(e2e, docs, 'template-api.yaml');

  const predict = async () => {
    const r = await fetch(gateway('/staging/template-api/predict'), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ features: FEATURES }),
    });
    assert.equal(r.status, 200);
    return (await r.json()) as { probability: number; cached: boolean; version: string };
  };
  const first = await predict();
  const second = await predict();
  assert.equal(first.version, version);
  assert.deepEqual([first.cached, second.cached], [false, true], 'the second answer comes from Redis');
  assert.equal(second.probability, first.probability);
  assert.ok(first.probability > 0 && first.probability < 1);
  const bad = await fetch(gateway('/staging/template-api/predict'), { method: 'POST', body: '{"features":[1]}' });
  assert.equal(bad.status, 400);
  assert.match(await bad.text(), /features: must be a list of 16 numbers/);

  const rows = await pg(database.url, 'select count(*)::int as n from template_api_predictions');
  assert.equal(rows, 2, 'both predictions are rows in PostgreSQL');
  // Two replicas each keep their own counters: a scrape through the gateway reads one of them.
  const metrics = await eventually(
    async () => {
      const text = await (await fetch(gateway('/staging/template-api/metrics'))).text();
      return /template_api_requests_total\{route="\/predict",status="200"\} \d+/.test(text) ? text : undefined;
    },
    { timeoutMs: 10_000, intervalMs: 100, message: 'a replica that served /predict exposes it' },
  );
  assert.match(metrics, /# TYPE template_api_request_seconds histogram/);
  const spec = JSON.stringify(await e2e.get('staging', 'template-api'));
  assert.doesNotMatch(
    spec,
    new RegExp(database.url.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')),
    'the URL is no part of the deployment',
  );
});

async function pg(url: string, sql: string): Promise<number> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return ((await client.query(sql)).rows[0] as { n: number }).n;
  } finally {
    await client.end();
  }
}
