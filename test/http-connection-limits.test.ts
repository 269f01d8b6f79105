// Client connection bounds on the three HTTP servers (gateway, model server, API), with short
// configured limits: a client that sends its headers too slowly gets 408 and is closed, an idle
// keep-alive connection is closed, a connection beyond the cap is answered 503 and closed (and
// counted in the server's metric), and a header block over node's limit answers 431 with a body.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { get, type IncomingMessage } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { ConnectionLimits } from '../src/core/http-server-limits.js';
import { writeDemoModels } from '../src/demo/write-demo-models.js';
import { GatewayServer } from '../src/gateway/gateway-server.js';
import { ModelServer } from '../src/serving/model-server.js';
import { type ControlPlane, startControlPlane } from '../src/server/control-plane.js';
import { rawBody, rawConnection, type RawConnection } from './support/gateway.js';
import { parseMetrics, sampleValue } from './support/serving.js';
import { eventually } from './support/eventually.js';

// Keep-alive long enough that the connections held for the cap test are still open when it connects once more.
const LIMITS: ConnectionLimits = {
  headersTimeoutMs: 300,
  requestTimeoutMs: 2_000,
  keepAliveTimeoutMs: 1_500,
  maxConnections: 3,
};

interface Subject {
  readonly name: string;
  /** Base URL of the server under test. */
  url(): string;
  /** A GET path that answers 200. */
  readonly path: string;
  /** Its connections-refused counter. */
  readonly refusedMetric: string;
  /** Where that counter is scraped (the API serves it under /metrics too). */
  metricsUrl(): string;
  /** Headers the scrape needs (the API's /metrics needs a credential). */
  metricsHeaders?(): Record<string, string>;
  /** Connections the server holds open by design (the API: its own gateway process's route watch). */
  readonly ownConnections: number;
  /** Resolves once those are open. */
  ownConnectionsOpen(): Promise<void>;
}

/** The gateway process of `wharf up` records its first table once its watch connection to the API delivered one. */
const gatewayWatchOpen = () =>
  eventually(async () => (existsSync(join(dir, 'home', 'gateway', 'routes.json')) ? true : undefined), {
    timeoutMs: 10_000,
    intervalMs: 100,
    message: 'the gateway process to follow the route watch',
  }).then(() => undefined);

let dir: string;
let gateway: GatewayServer;
let model: ModelServer;
let cp: ControlPlane;

before(
  async () => {
    dir = await mkdtemp(join(tmpdir(), 'wharf-limits-'));
    const { readmission } = await writeDemoModels(join(dir, 'models'));
    gateway = new GatewayServer({
      port: 0,
      shutdownGraceMs: 500,
      clientHeadersTimeoutMs: LIMITS.headersTimeoutMs,
      requestTimeoutMs: LIMITS.requestTimeoutMs,
      keepAliveTimeoutMs: LIMITS.keepAliveTimeoutMs,
      maxConnections: LIMITS.maxConnections,
    });
    await gateway.start();
    model = new ModelServer({ modelPath: readmission, name: 'readmission', port: 0, connections: LIMITS });
    await model.start();
    cp = await startControlPlane({
      home: join(dir, 'home'),
      host: '127.0.0.1',
      port: 0,
      gatewayPort: 0,
      log: () => {},
      apiConnections: LIMITS,
    });
  },
  { timeout: 60_000 },
);

after(async () => {
  await gateway?.stop();
  await model?.shutdown();
  await cp?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const SUBJECTS: readonly Subject[] = [
  {
    name: 'gateway',
    url: () => gateway.url,
    path: '/healthz',
    refusedMetric: 'wharf_gateway_connections_refused_total',
    metricsUrl: () => gateway.url,
    ownConnections: 0,
    ownConnectionsOpen: () => Promise.resolve(),
  },
  {
    name: 'model server',
    url: () => model.url,
    path: '/v2/health/live',
    refusedMetric: 'wharf_model_server_connections_refused_total',
    metricsUrl: () => model.url,
    ownConnections: 0,
    ownConnectionsOpen: () => Promise.resolve(),
  },
  {
    name: 'API',
    url: () => cp.apiUrl,
    path: '/healthz',
    refusedMetric: 'wharf_api_connections_refused_total',
    metricsUrl: () => cp.apiUrl,
    metricsHeaders: () => ({ authorization: `Bearer ${cp.adminToken}` }),
    ownConnections: 1,
    ownConnectionsOpen: gatewayWatchOpen,
  },
];

/** GET `url` on a connection of its own, closed after the answer (so it never counts against the cap later). */
async function getOnce(url: string, headers: Record<string, string> = {}): Promise<{ status: number; text: string }> {
  const res = await new Promise<IncomingMessage>((resolve, reject) =>
    get(url, { agent: false, headers }, resolve).on('error', reject),
  );
  let text = '';
  res.setEncoding('utf8');
  for await (const chunk of res) text += chunk as string;
  return { status: res.statusCode ?? 0, text };
}

async function refusedCount(s: Subject): Promise<number> {
  const res = await getOnce(`${s.metricsUrl()}/metrics`, s.metricsHeaders?.());
  assert.equal(res.status, 200, res.text.slice(0, 200));
  return sampleValue(parseMetrics(res.text), s.refusedMetric) ?? 0;
}

/** Waits until `conn` has been closed by the server; returns what it received and when it closed. */
async function closed(
  conn: RawConnection,
  started: number,
): Promise<{ response: string; status: number; afterMs: number }> {
  const ex = await conn.response;
  return { response: ex.response, status: ex.status, afterMs: performance.now() - started };
}

for (const s of SUBJECTS) {
  describe(s.name, () => {
    test('a client that does not finish its headers within headersTimeoutMs gets 408 and is closed', async () => {
      const started = performance.now();
      const conn = await rawConnection(s.url());
      conn.write(`GET ${s.path} HTTP/1.1\r\nHost: t\r\nX-Slow: `);
      const { status, response, afterMs } = await closed(conn, started);
      assert.equal(status, 408, response);
      assert.match(rawBody(response), /request timeout/);
      assert.ok(afterMs >= LIMITS.headersTimeoutMs - 50, `closed after ${afterMs} ms`);
    });

    test('an idle keep-alive connection is closed after keepAliveTimeoutMs', async () => {
      const conn = await rawConnection(s.url());
      conn.write(`GET ${s.path} HTTP/1.1\r\nHost: t\r\n\r\n`);
      // Measured from the answer's arrival: the idle time starts there, not when the poll saw it.
      const started = await eventually(async () => conn.respondedAt(), {
        timeoutMs: 5_000,
        intervalMs: 100,
        message: 'the first response',
      });
      const { status, response, afterMs } = await closed(conn, started);
      assert.equal(status, 200, response);
      assert.ok(afterMs >= LIMITS.keepAliveTimeoutMs - 100 && afterMs < 6_000, `closed after ${afterMs} ms`);
    });

    test('a header block over the limit answers 431 with a short body', async () => {
      const conn = await rawConnection(s.url());
      conn.write(`GET ${s.path} HTTP/1.1\r\nHost: t\r\nX-Big: ${'a'.repeat(100 * 1024)}\r\n\r\n`);
      const { status, response } = await closed(conn, performance.now());
      assert.equal(status, 431, response.slice(0, 200));
      assert.match(rawBody(response), /^request header fields too large: .* \d+ bytes\n$/);
    });

    test('a connection beyond maxConnections is answered 503 and closed, and counted; room opens when one closes', async () => {
      await s.ownConnectionsOpen();
      const before = await refusedCount(s);
      // Keep-alive requests on each: the server has accepted (and counts) every one of them.
      const held: RawConnection[] = [];
      for (let i = 0; i < LIMITS.maxConnections - s.ownConnections; i++) {
        const conn = await rawConnection(s.url());
        conn.write(`GET ${s.path} HTTP/1.1\r\nHost: t\r\n\r\n`);
        held.push(conn);
      }
      for (const conn of held)
        await eventually(async () => (conn.responded() ? true : undefined), {
          timeoutMs: 5_000,
          intervalMs: 100,
          message: 'a held connection to be answered',
        });
      const extra = await rawConnection(s.url());
      extra.write(`GET ${s.path} HTTP/1.1\r\nHost: t\r\n\r\n`);
      const refused = await closed(extra, performance.now());
      assert.equal(refused.status, 503, refused.response);
      assert.match(refused.response, /retry-after: 1/i);
      assert.match(rawBody(refused.response), /^too many connections: this server takes at most 3; retry later\n$/);
      // The held ones close by themselves (keep-alive timeout); then the server takes connections again.
      await Promise.all(held.map((c) => c.response));
      await eventually(
        async () => {
          const res = await getOnce(`${s.url()}${s.path}`).catch(() => undefined);
          return res?.status === 200 ? true : undefined;
        },
        { timeoutMs: 5_000, intervalMs: 100, message: 'a new connection to be served' },
      );
      assert.equal(await refusedCount(s), before + 1, s.refusedMetric);
    });
  });
}
