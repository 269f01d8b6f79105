// The gateway against real model servers (`wharf serve-model` processes with the demo readmission
// model): forwarding, balancing, weighted splits, retries on a dead or killed replica, table swaps
// under load, limits and errors. Plus a few cases against a controllable node:http upstream
// (timeouts, no retry after a response started, pools closed after a swap).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DRAINING_HEADER } from '../src/protocol/headers.js';
import { writeDemoModels } from '../src/demo/write-demo-models.js';
import { GatewayServer } from '../src/gateway/gateway-server.js';
import type { RouteTable } from '../src/protocol/route-table.js';
import {
  countBy,
  deadUrl,
  FakeUpstream,
  inferBody,
  inferOutcome,
  Load,
  rawBody,
  rawConnection,
  rawExchange,
  route,
  table,
  target,
} from './support/gateway.js';
import { type ModelServerProcess } from './support/processes.js';
import {
  expectError,
  http,
  jsonOf,
  sampleValue,
  scrape,
  startModelServers,
  stopAll,
  within,
} from './support/serving.js';
import { eventually } from './support/eventually.js';

const DEPLOYMENT = 'readmission';
const ENV = 'production';
const INFER_PATH = `/v2/models/${DEPLOYMENT}/infer`;

let dir: string | undefined;
const started: ModelServerProcess[] = [];
const gateways: GatewayServer[] = [];
let a: ModelServerProcess;
let b: ModelServerProcess;
let c: ModelServerProcess;
let victim: ModelServerProcess;
let gateway: GatewayServer;

const backend = (id: string, server: ModelServerProcess | string) => ({
  id,
  url: typeof server === 'string' ? server : server.url,
});
/** The gateway URL of an inference request for the test deployment. */
const inferUrl = (g: GatewayServer = gateway, env = ENV, deployment = DEPLOYMENT) =>
  `${g.url}/${env}/${deployment}/v2/models/${deployment}/infer`;
/** A table with one route for the test deployment. */
const oneRoute = (version: number, ...targets: Parameters<typeof route>[2]): RouteTable =>
  table(version, [route(ENV, DEPLOYMENT, targets)]);

async function newGateway(options: ConstructorParameters<typeof GatewayServer>[0] = {}): Promise<GatewayServer> {
  // Tests read x-wharf-backend (which replica answered), which gateways send only when asked.
  const g = new GatewayServer({ port: 0, shutdownGraceMs: 2_000, debugHeaders: true, ...options });
  gateways.push(g);
  await g.start();
  return g;
}

async function inferCount(server: ModelServerProcess): Promise<number> {
  return (
    sampleValue(await scrape(server.url), 'wharf_inference_requests_total', { model: DEPLOYMENT, code: '200' }) ?? 0
  );
}

before(
  async () => {
    dir = await mkdtemp(join(tmpdir(), 'wharf-gateway-test-'));
    const { readmission } = await writeDemoModels(dir);
    const args = ['--model', readmission, '--name', DEPLOYMENT];
    [a, b, c, victim] = await startModelServers([args, args, args, args], started);
    gateway = await newGateway();
  },
  { timeout: 30_000 },
);

after(async () => {
  await Promise.all(gateways.map((g) => g.stop()));
  await stopAll(started);
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('before a table', () => {
  test('/healthz is live, /readyz and routed paths answer 503 until the first table', async () => {
    const g = await newGateway();
    assert.equal((await http(`${g.url}/healthz`)).status, 200);
    const ready = await http(`${g.url}/readyz`);
    assert.equal(ready.status, 503);
    assert.deepEqual(jsonOf(ready), { ready: false, tableVersion: null });
    const res = await http(inferUrl(g), { body: inferBody() });
    assert.match(expectError(res, 503), /no route table/);
    assert.ok(res.headers.get('retry-after'));
    g.setTable(oneRoute(1, target(1, 100, [backend('a', a)])));
    assert.deepEqual(jsonOf(await http(`${g.url}/readyz`)), { ready: true, tableVersion: 1 });
    assert.equal((await http(inferUrl(g), { body: inferBody() })).status, 200);
  });
});

describe('forwarding', () => {
  test('inference through the gateway returns the same body as direct, with routing headers', async () => {
    gateway.setTable(oneRoute(1, target(1, 100, [backend('a', a)])));
    const body = inferBody(3, 'req-42');
    const direct = await http(`${a.url}${INFER_PATH}`, { body });
    const via = await http(inferUrl(), {
      body,
      headers: { 'content-type': 'application/json', 'x-request-id': 'rid-1' },
    });
    assert.equal(direct.status, 200, direct.text);
    assert.equal(via.status, 200, via.text);
    assert.equal(via.text, direct.text);
    assert.equal(via.headers.get('content-type'), direct.headers.get('content-type'));
    assert.equal(via.headers.get('x-wharf-backend'), 'a');
    assert.equal(via.headers.get('x-wharf-revision'), '1');
    assert.equal(via.headers.get('x-request-id'), 'rid-1');
    // Other protocol paths pass through unchanged; a request id is generated when absent.
    for (const path of [
      `/v2/models/${DEPLOYMENT}`,
      `/v2/models/${DEPLOYMENT}/ready`,
      '/v2/health/ready',
      '/v2/health/live',
    ]) {
      const viaGet = await http(`${gateway.url}/${ENV}/${DEPLOYMENT}${path}`);
      const directGet = await http(`${a.url}${path}`);
      assert.equal(viaGet.status, 200, `${path}: ${viaGet.text}`);
      assert.equal(viaGet.text, directGet.text, path);
      assert.match(viaGet.headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/, 'generated request id');
    }
    // A model error passes through as the model's own 4xx.
    const bad = await http(inferUrl(), { body: '{"inputs": 3}' });
    assert.equal(bad.status, 400);
    assert.equal(bad.headers.get('x-wharf-backend'), 'a');
  });

  test('without debugHeaders no answer names the replica (x-wharf-backend); x-wharf-revision stays', async () => {
    const g = await newGateway({ debugHeaders: undefined });
    g.setTable(oneRoute(1, target(1, 100, [backend('a', a)])));
    for (const body of [inferBody(), '{"inputs": 3}']) {
      const res = await http(inferUrl(g), { body });
      assert.ok(res.status === 200 || res.status === 400, res.text);
      assert.equal(res.headers.get('x-wharf-backend'), null, `status ${res.status}`);
      assert.equal(res.headers.get('x-wharf-revision'), '1');
    }
  });

  test('load spreads across the ready replicas', async () => {
    gateway.setTable(oneRoute(2, target(1, 100, [backend('a', a), backend('b', b)])));
    const before = [await inferCount(a), await inferCount(b)];
    const load = new Load(() => inferOutcome(inferUrl()), 8);
    await eventually(() => load.outcomes.length >= 200, { timeoutMs: 15_000, message: '200 requests' });
    const outcomes = await load.stop();
    assert.deepEqual(load.failures(), []);
    const byBackend = countBy(outcomes, (o) => o.backend);
    const n = outcomes.length;
    for (const id of ['a', 'b']) {
      assert.ok(
        (byBackend.get(id) ?? 0) >= n * 0.25,
        `backend ${id} got ${byBackend.get(id) ?? 0} of ${n}: ${JSON.stringify([...byBackend])}`,
      );
    }
    // The replicas' own counters agree with the gateway's header.
    assert.equal((await inferCount(a)) - before[0]!, byBackend.get('a'));
    assert.equal((await inferCount(b)) - before[1]!, byBackend.get('b'));
  });

  test('a weighted split of two revisions (80/20) holds over 500 requests', async () => {
    gateway.setTable(oneRoute(3, target(1, 80, [backend('a', a), backend('b', b)]), target(2, 20, [backend('c', c)])));
    const load = new Load(() => inferOutcome(inferUrl()), 10);
    await eventually(() => load.outcomes.length >= 500, { timeoutMs: 20_000, message: '500 requests' });
    const outcomes = await load.stop();
    assert.deepEqual(load.failures(), []);
    const byRevision = countBy(outcomes, (o) => o.revision);
    const share = (byRevision.get('2') ?? 0) / outcomes.length;
    // Binomial(500, 0.2): sd ≈ 0.018; 0.12–0.28 is more than 4 sd on either side.
    assert.ok(share > 0.12 && share < 0.28, `revision 2 got ${(share * 100).toFixed(1)}% of ${outcomes.length}`);
    assert.ok(
      outcomes.every((o) => (o.revision === '2') === (o.backend === 'c')),
      'revision 2 is served only by its replica',
    );
    const samples = await scrape(gateway.url);
    const labels = { environment: ENV, deployment: DEPLOYMENT, code: '200' };
    assert.ok(
      (sampleValue(samples, 'wharf_gateway_requests_total', { ...labels, revision: '2' }) ?? 0) >=
        (byRevision.get('2') ?? 0),
    );
    assert.equal(sampleValue(samples, 'wharf_gateway_route_table_version'), 3);
  });
});

describe('errors', () => {
  test('unknown environment or deployment → 404 naming it', async () => {
    gateway.setTable(oneRoute(4, target(1, 100, [backend('a', a)])));
    assert.match(
      expectError(await http(inferUrl(gateway, ENV, 'nope'), { body: inferBody() }), 404),
      /deployment 'nope' in environment 'production'/,
    );
    assert.match(
      expectError(await http(inferUrl(gateway, 'staging'), { body: inferBody() }), 404),
      /deployment 'readmission' in environment 'staging'/,
    );
    assert.match(expectError(await http(`${gateway.url}/nothing`), 404), /nothing/);
  });

  test('a route without ready replicas → 503 with Retry-After and a clear message', async () => {
    gateway.setTable(
      table(5, [
        route(ENV, DEPLOYMENT, [target(1, 100, [backend('a', a)])]),
        route(ENV, 'empty', [target(1, 100, [])]),
      ]),
    );
    const res = await http(inferUrl(gateway, ENV, 'empty'), { body: inferBody() });
    assert.equal(expectError(res, 503), "no ready replica for deployment 'empty' in environment 'production'");
    assert.equal(res.headers.get('retry-after'), '1');
    const samples = await scrape(gateway.url);
    assert.equal(
      sampleValue(samples, 'wharf_gateway_no_ready_replica_total', { environment: ENV, deployment: 'empty' }),
      1,
    );
  });

  test('malformed paths get a 4xx, never a 5xx', async () => {
    gateway.setTable(oneRoute(6, target(1, 100, [backend('a', a)])));
    const targets = [
      '/',
      '//',
      '///',
      '/production',
      '/production/',
      `/production/${DEPLOYMENT}`,
      `/production/${DEPLOYMENT}?x=1`,
      `/production//v2/health/ready`,
      `//${DEPLOYMENT}/v2/health/ready`,
      '/%zz/readmission/v2/health/ready',
      '/production/%zz/v2/health/ready',
      `/production/${DEPLOYMENT}/%zz`,
      `/production/${DEPLOYMENT}/../../etc/passwd`,
      `/production/${DEPLOYMENT}/v2/models/%00/infer`,
      `/production/${DEPLOYMENT}/v2/models/x/infer`,
      `/production/${DEPLOYMENT}/v2/models/${DEPLOYMENT}/infer?x=%zz`,
      'http://elsewhere/production/readmission/v2/health/ready',
      '*',
      `/production/${DEPLOYMENT}/\xff\xfe`,
      '/metrics/x',
      '/healthz/',
      '/readyz/x',
    ];
    for (const path of targets) {
      for (const method of ['GET', 'POST', 'OPTIONS', 'DELETE']) {
        const ex = await rawExchange(
          gateway.url,
          `${method} ${path} HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}`,
        );
        assert.ok(
          ex.status >= 400 && ex.status < 500,
          `${method} ${path} → ${ex.status}: ${ex.response.slice(0, 300)}`,
        );
      }
    }
    assert.equal((await http(`${gateway.url}/metrics`, { method: 'POST', body: '' })).status, 405);
  });

  test('a request body over the limit → 413, by Content-Length or while streaming', async () => {
    const limit = 4096;
    const g = await newGateway({ maxBodyBytes: limit });
    g.setTable(oneRoute(1, target(1, 100, [backend('a', a)])));
    const under = await http(inferUrl(g), { body: inferBody(10) });
    assert.equal(under.status, 200, 'a body under the limit is forwarded');
    const declared = await rawExchange(
      g.url,
      `POST /${ENV}/${DEPLOYMENT}${INFER_PATH} HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: ${limit + 1}\r\n\r\n`,
    );
    assert.equal(declared.status, 413, declared.response);
    assert.match(rawBody(declared.response), /4096/);
    assert.match(declared.response, /\r\nconnection: close\r\n/i);
    const chunks = Array.from({ length: 64 }, () => `400\r\n${'x'.repeat(1024)}\r\n`);
    const streamed = await rawExchange(
      g.url,
      `POST /${ENV}/${DEPLOYMENT}${INFER_PATH} HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n`,
      chunks,
      5,
    );
    assert.equal(streamed.status, 413, streamed.response);
    assert.ok(streamed.chunksBeforeResponse < 32, `413 only after ${streamed.chunksBeforeResponse} of 64 chunks`);
    const body = JSON.parse(rawBody(streamed.response)) as unknown;
    assert.deepEqual(Object.keys(body as object), ['error']);
  });
});

describe('retries and failover', () => {
  test('a replica in the table that is down: every request still succeeds through the other', async () => {
    const g = await newGateway();
    g.setTable(oneRoute(1, target(1, 100, [backend('down', await deadUrl()), backend('a', a)])));
    const sequential: number[] = [];
    for (let i = 0; i < 20; i++) sequential.push((await inferOutcome(inferUrl(g))).status);
    const load = new Load(() => inferOutcome(inferUrl(g)), 4);
    await eventually(() => load.outcomes.length >= 100, { timeoutMs: 15_000, message: '100 requests' });
    const outcomes = await load.stop();
    assert.deepEqual(
      sequential.filter((s) => s !== 200),
      [],
    );
    assert.deepEqual(load.failures(), []);
    assert.ok(outcomes.every((o) => o.backend === 'a'));
    const samples = await scrape(g.url);
    assert.ok(
      (sampleValue(samples, 'wharf_gateway_upstream_retries_total', { revision: '1' }) ?? 0) >= 1,
      'at least one retry happened',
    );
  });

  test("a draining replica's 503 (x-wharf-draining) is retried on another replica; a plain 503 is passed on", async () => {
    const draining = new FakeUpstream((_req, res) =>
      res
        .writeHead(503, { [DRAINING_HEADER]: '1', connection: 'close', 'content-type': 'application/json' })
        .end('{"error":"server is shutting down"}'),
    );
    const busy = new FakeUpstream((_req, res) =>
      res.writeHead(503, { 'content-type': 'application/json' }).end('{"error":"overloaded"}'),
    );
    const [drainingUrl, busyUrl] = [await draining.start(), await busy.start()];
    try {
      const g = await newGateway();
      g.setTable(oneRoute(1, target(1, 100, [backend('draining', drainingUrl), backend('a', a)])));
      const outcomes: Awaited<ReturnType<typeof inferOutcome>>[] = [];
      for (let i = 0; i < 20; i++) outcomes.push(await inferOutcome(inferUrl(g)));
      assert.deepEqual(
        outcomes.filter((o) => o.status !== 200),
        [],
        'no draining 503 reached the caller',
      );
      assert.ok(draining.requests > 0, 'the draining replica was tried');
      g.setTable(oneRoute(2, target(1, 100, [backend('busy', busyUrl)])));
      assert.equal((await inferOutcome(inferUrl(g))).status, 503, 'a 503 that may have run the request is not retried');
      assert.equal(busy.requests, 1);
    } finally {
      await draining.stop();
      await busy.stop();
    }
  });

  test('all replicas down → 502 naming the deployment, after at most maxAttempts attempts', async () => {
    const g = await newGateway({ maxAttempts: 3 });
    g.setTable(oneRoute(1, target(1, 100, [backend('d1', await deadUrl()), backend('d2', await deadUrl())])));
    const message = expectError(await http(inferUrl(g), { body: inferBody() }), 502);
    assert.match(
      message,
      /deployment 'readmission' in environment 'production' \(3 attempts; last: replica 'd[12]' refused the connection\)/,
    );
    const samples = await scrape(g.url);
    assert.equal(sampleValue(samples, 'wharf_gateway_upstream_attempts_total', { revision: '1' }), 3);
  });

  test('kill -9 of a replica under load: no failures beyond the requests in flight on it', async () => {
    const g = await newGateway();
    g.setTable(oneRoute(1, target(1, 100, [backend('victim', victim), backend('b', b)])));
    const concurrency = 4;
    const load = new Load(() => inferOutcome(inferUrl(g)), concurrency);
    await eventually(() => load.outcomes.filter((o) => o.backend === 'victim').length >= 30, {
      timeoutMs: 15_000,
      message: 'the victim to serve 30 requests',
    });
    victim.child.kill('SIGKILL');
    await within(victim.exited, 5_000, 'the victim to exit');
    const killedAt = performance.now();
    await eventually(() => load.outcomes.filter((o) => o.sentAt > killedAt).length >= 150, {
      timeoutMs: 15_000,
      message: '150 requests after the kill',
    });
    const outcomes = await load.stop();
    const failures = load.failures();
    assert.ok(failures.length <= concurrency, `${failures.length} failures: ${JSON.stringify(failures.slice(0, 5))}`);
    const after = outcomes.filter((o) => o.sentAt > killedAt);
    assert.deepEqual(
      after.filter((o) => o.status !== 200),
      [],
      'requests sent after the kill all succeed',
    );
    assert.ok(after.every((o) => o.backend === 'b'));
  });

  test('setTable swaps mid-load: no failures, and new requests follow the new table at once', async () => {
    const g = await newGateway();
    const tables = [
      oneRoute(1, target(1, 100, [backend('a', a), backend('b', b)])),
      oneRoute(2, target(2, 100, [backend('c', c)])),
    ];
    g.setTable(tables[0]!);
    const load = new Load(() => inferOutcome(inferUrl(g)), 6);
    let version = 1;
    for (let swap = 0; swap < 9; swap++) {
      const done = load.outcomes.length;
      await eventually(() => load.outcomes.length >= done + 25, { timeoutMs: 10_000, message: '25 more requests' });
      version++;
      g.setTable({ ...tables[(version - 1) % 2]!, version });
    }
    const lastSwapAt = performance.now();
    const expected = (version - 1) % 2 === 1 ? 'c' : 'a|b';
    await eventually(() => load.outcomes.filter((o) => o.sentAt > lastSwapAt).length >= 30, {
      timeoutMs: 10_000,
      message: '30 requests after the last swap',
    });
    const outcomes = await load.stop();
    assert.deepEqual(load.failures(), []);
    for (const o of outcomes.filter((x) => x.sentAt > lastSwapAt))
      assert.match(o.backend ?? '', new RegExp(`^(${expected})$`));
    assert.equal(g.tableVersion, version);
  });
});

describe('against a controllable upstream', () => {
  test('no answer within the headers timeout → 504, not retried', async () => {
    const slow = new FakeUpstream(() => {}); // never answers
    const g = await newGateway({ upstream: { headersTimeoutMs: 300 } });
    try {
      g.setTable(oneRoute(1, target(1, 100, [backend('slow', await slow.start())])));
      const message = expectError(await http(inferUrl(g), { body: inferBody() }), 504);
      assert.match(message, /replica 'slow' .* did not answer within 300 ms/);
      assert.equal(slow.requests, 1);
    } finally {
      await slow.stop();
    }
  });

  test('never retried once a response started: a cut-off body reaches the client as an error', async () => {
    const cutOff = (_req: unknown, res: import('node:http').ServerResponse): void => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': 100 });
      res.write('{"partial":');
      setImmediate(() => res.socket?.destroy());
    };
    const [one, two] = [new FakeUpstream(cutOff), new FakeUpstream(cutOff)];
    const g = await newGateway();
    try {
      g.setTable(oneRoute(1, target(1, 100, [backend('one', await one.start()), backend('two', await two.start())])));
      await assert.rejects(http(inferUrl(g), { body: inferBody() }));
      assert.equal(one.requests + two.requests, 1, 'one attempt only');
      const samples = await scrape(g.url);
      assert.equal(sampleValue(samples, 'wharf_gateway_upstream_retries_total', { revision: '1' }), 0);
    } finally {
      await one.stop();
      await two.stop();
    }
  });

  test('a replica dropped from the table finishes its in-flight request, then its pool closes', async () => {
    let release: (() => void) | undefined;
    const held = new FakeUpstream((_req, res) => {
      release = () => res.end('{"held":true}');
    });
    const g = await newGateway();
    try {
      g.setTable(oneRoute(1, target(1, 100, [backend('held', await held.start())])));
      const inFlight = http(inferUrl(g), { body: inferBody() });
      await eventually(() => release !== undefined, { timeoutMs: 5_000, message: 'the request to reach the replica' });
      g.setTable(oneRoute(2, target(2, 100, [backend('a', a)])));
      assert.equal(
        (await http(inferUrl(g), { body: inferBody() })).headers.get('x-wharf-backend'),
        'a',
        'new requests use the new table',
      );
      assert.equal(held.openSockets, 1, 'the old pool stays open while its request is in flight');
      release!();
      const res = await inFlight;
      assert.equal(res.status, 200);
      assert.equal(res.text, '{"held":true}');
      assert.equal(res.headers.get('x-wharf-revision'), '1');
      await eventually(() => held.openSockets === 0, {
        timeoutMs: 3_000,
        message: 'the old pool to close its connection',
      });
    } finally {
      await held.stop();
    }
  });
});

describe('table swap while a request body is still arriving', () => {
  test('the request is routed with the new table once its body is complete', async () => {
    const old = new FakeUpstream((_req, res) => res.end('{"from":"old"}'));
    const fresh = new FakeUpstream((_req, res) => res.end('{"from":"new"}'));
    const g = await newGateway();
    try {
      g.setTable(oneRoute(1, target(1, 100, [backend('old', await old.start())])));
      const body = inferBody();
      const half = Math.floor(body.length / 2);
      const conn = await rawConnection(g.url);
      conn.write(
        `POST /${ENV}/${DEPLOYMENT}${INFER_PATH} HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n` +
          `Content-Length: ${body.length}\r\nConnection: close\r\n\r\n${body.slice(0, half)}`,
      );
      await eventually(() => g.metrics.inFlight === 1, {
        timeoutMs: 5_000,
        message: 'the gateway to receive the request head',
      });
      // The old replica leaves the table (its idle pool closes at once) before the body is complete.
      g.setTable(oneRoute(2, target(2, 100, [backend('new', await fresh.start())])));
      conn.write(body.slice(half));
      const ex = await conn.response;
      assert.equal(ex.status, 200, ex.response);
      assert.equal(rawBody(ex.response), '{"from":"new"}');
      assert.match(ex.response, /\r\nx-wharf-revision: 2\r\n/i);
      assert.equal(old.requests, 0);
    } finally {
      await old.stop();
      await fresh.stop();
    }
  });
});

describe('metrics', () => {
  test('the exposition passes promtool and has every gateway family', async (t) => {
    const res = await http(`${gateway.url}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
    for (const family of [
      'wharf_gateway_requests_total',
      'wharf_gateway_request_duration_seconds',
      'wharf_gateway_upstream_attempts_total',
      'wharf_gateway_upstream_retries_total',
      'wharf_gateway_no_ready_replica_total',
      'wharf_gateway_unrouted_requests_total',
      'wharf_gateway_requests_in_flight',
      'wharf_gateway_route_table_version',
      'wharf_gateway_ejections_total',
      'wharf_gateway_ejected_backends',
      'wharf_gateway_route_in_flight',
      'wharf_gateway_route_held',
      'wharf_gateway_route_arrivals_total',
      'wharf_gateway_route_held_total',
      'wharf_gateway_route_hold_rejected_total',
    ])
      assert.match(res.text, new RegExp(`^# TYPE ${family} `, 'm'), family);
    assert.match(res.text, /^wharf_gateway_requests_in_flight 1$/m, 'only the scrape itself is in flight');
    const check = spawnSync('promtool', ['check', 'metrics'], { input: res.text, encoding: 'utf8' });
    if (check.error) return t.skip(`promtool is not available: ${check.error.message}`);
    assert.equal(check.status, 0, `promtool: ${check.stdout}${check.stderr}`);
    assert.equal(`${check.stdout}${check.stderr}`.trim(), '', 'no lint warnings');
  });
});

describe('shutdown', () => {
  test('stop() finishes an in-flight request, then refuses connections', async () => {
    let release: (() => void) | undefined;
    const held = new FakeUpstream((_req, res) => {
      release = () => res.end('{"done":true}');
    });
    const g = await newGateway();
    try {
      g.setTable(oneRoute(1, target(1, 100, [backend('held', await held.start())])));
      const inFlight = http(inferUrl(g), { body: inferBody() });
      await eventually(() => release !== undefined, { timeoutMs: 5_000, message: 'the request to reach the replica' });
      const url = g.url;
      const stopped = g.stop();
      await eventually(
        async () =>
          (await http(`${url}/healthz`).then(
            () => 'open',
            () => 'refused',
          )) === 'refused',
        { timeoutMs: 5_000, message: 'the port to close' },
      );
      release!();
      assert.equal((await inFlight).status, 200);
      await within(stopped, 5_000, 'stop() to resolve');
    } finally {
      await held.stop();
    }
  });
});
