// The gateway fed by a control plane's route watch stream (NDJSON, one full table per line), with a
// tiny fake control plane on node:http and real model servers behind the gateway: updates apply
// promptly, stale and malformed tables are ignored, the gateway keeps serving with its last table
// while the control plane is down, and reconnects when it comes back on the same port.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeDemoModels } from '../src/demo/write-demo-models.js';
import { GatewayServer } from '../src/gateway/gateway-server.js';
import type { RouteTable } from '../src/protocol/route-table.js';
import { backoff, StaticTableSource, type WatchEvent, WatchTableSource } from '../src/gateway/table-source.js';
import { inferBody, inferOutcome, route, table, target } from './support/gateway.js';
import type { ModelServerProcess } from './support/processes.js';
import { http, jsonOf, startModelServers, stopAll } from './support/serving.js';
import { eventually } from './support/eventually.js';

const WATCH_PATH = '/api/v1/routes/watch';

/** A fake control plane: serves the watch stream, publishes tables to every open stream. */
class FakeControlPlane {
  /** Watch connections accepted so far. */
  connections = 0;
  private current: string | undefined;
  private readonly streams = new Set<ServerResponse>();
  private readonly server: Server;
  private heartbeat: NodeJS.Timeout | undefined;

  constructor(private readonly heartbeatMs: number | null = 100) {
    this.server = createServer((req, res) => {
      if (req.url !== WATCH_PATH || req.method !== 'GET') {
        res.writeHead(404).end();
        return;
      }
      this.connections++;
      res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      if (this.current !== undefined) res.write(`${this.current}\n`);
      this.streams.add(res);
      res.once('close', () => this.streams.delete(res));
    });
  }

  async start(port = 0): Promise<void> {
    this.server.listen(port, '127.0.0.1');
    await once(this.server, 'listening');
    if (this.heartbeatMs !== null) this.heartbeat = setInterval(() => this.line(''), this.heartbeatMs);
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}${WATCH_PATH}`;
  }

  /** Makes `t` the current table and sends it on every open stream. */
  publish(t: RouteTable): void {
    this.current = JSON.stringify(t);
    this.line(this.current);
  }

  /** Sends one raw line on every open stream (without changing the current table). */
  line(text: string): void {
    for (const res of this.streams) res.write(`${text}\n`);
  }

  async stop(): Promise<void> {
    clearInterval(this.heartbeat);
    for (const res of this.streams) res.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

let dir: string | undefined;
const started: ModelServerProcess[] = [];
let a: ModelServerProcess;
let b: ModelServerProcess;
let gateway: GatewayServer;
let cp: FakeControlPlane;
/** The fake control plane's port, kept so it can come back on the same one. */
let cpPort = 0;
let source: WatchTableSource;
const events: WatchEvent[] = [];
const cleanups: (() => Promise<void>)[] = [];

const inferUrl = () => `${gateway.url}/production/readmission/v2/models/readmission/infer`;
const tableTo = (version: number, revision: number, ...servers: [string, ModelServerProcess][]) =>
  table(version, [
    route('production', 'readmission', [
      target(
        revision,
        100,
        servers.map(([id, s]) => ({ id, url: s.url })),
      ),
    ]),
  ]);
const count = (kind: WatchEvent['kind']) => events.filter((e) => e.kind === kind).length;

before(
  async () => {
    dir = await mkdtemp(join(tmpdir(), 'wharf-gateway-watch-test-'));
    const { readmission } = await writeDemoModels(dir);
    const args = ['--model', readmission, '--name', 'readmission'];
    [a, b] = await startModelServers([args, args], started);
    // The tests read x-wharf-backend (which replica answered), which gateways send only when asked.
    gateway = new GatewayServer({ port: 0, shutdownGraceMs: 2_000, debugHeaders: true });
    await gateway.start();
    cp = new FakeControlPlane();
    await cp.start();
    cpPort = cp.port;
  },
  { timeout: 30_000 },
);

after(async () => {
  await source?.stop();
  await Promise.all(cleanups.map((f) => f()));
  await cp?.stop().catch(() => undefined);
  await gateway?.stop();
  await stopAll(started);
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('watch stream', () => {
  test('applies the current table on connect and each newer table promptly', async () => {
    cp.publish(tableTo(1, 1, ['a', a]));
    source = new WatchTableSource(gateway, {
      url: cp.url,
      minBackoffMs: 20,
      maxBackoffMs: 200,
      idleTimeoutMs: 2_000,
      onEvent: (e) => events.push(e),
    });
    await source.start();
    await eventually(() => gateway.tableVersion === 1, { timeoutMs: 3_000, message: 'table 1 to be applied' });
    assert.equal((await inferOutcome(inferUrl())).backend, 'a');

    const publishedAt = performance.now();
    cp.publish(tableTo(2, 2, ['b', b]));
    await eventually(() => gateway.tableVersion === 2, {
      timeoutMs: 2_000,
      intervalMs: 2,
      message: 'table 2 to be applied',
    });
    const tookMs = performance.now() - publishedAt;
    assert.ok(tookMs < 500, `table 2 applied ${tookMs.toFixed(0)} ms after it was published`);
    const res = await inferOutcome(inferUrl());
    assert.equal(res.status, 200);
    assert.equal(res.backend, 'b');
    assert.equal(res.revision, '2');
  });

  test('ignores a table that is not newer, and a malformed one, without dropping the connection', async () => {
    const connections = cp.connections;
    cp.line(JSON.stringify(tableTo(1, 1, ['a', a])));
    await eventually(() => count('skipped') === 1, { timeoutMs: 5_000, message: 'the stale table to be skipped' });
    cp.line('{"version": 3, "routes": "not a list"}');
    cp.line('{not json');
    await eventually(() => count('rejected') === 2, {
      timeoutMs: 5_000,
      message: 'the malformed tables to be rejected',
    });
    const rejected = events.filter((e): e is Extract<WatchEvent, { kind: 'rejected' }> => e.kind === 'rejected');
    assert.match(rejected[0]!.error.message, /routes: must be an array/);
    assert.equal(gateway.tableVersion, 2);
    cp.publish(tableTo(3, 3, ['a', a], ['b', b]));
    await eventually(() => gateway.tableVersion === 3, { timeoutMs: 5_000, message: 'table 3 to be applied' });
    assert.equal(cp.connections, connections, 'the same connection carried all of it');
    assert.equal(source.connected, true);
  });

  test('keeps serving with the last table while the control plane is down', async () => {
    await cp.stop();
    await eventually(() => !source.connected, { timeoutMs: 5_000, message: 'the source to notice the disconnect' });
    await eventually(() => count('disconnected') >= 3, { timeoutMs: 5_000, message: 'a few failed reconnects' });
    for (let i = 0; i < 20; i++) {
      const res = await inferOutcome(inferUrl());
      assert.equal(res.status, 200, res.text);
      assert.equal(res.revision, '3');
    }
    assert.deepEqual(jsonOf(await http(`${gateway.url}/readyz`)), { ready: true, tableVersion: 3 });
    assert.equal(gateway.tableVersion, 3);
  });

  test('reconnects when the control plane is back on the same port, and applies its newer table', async () => {
    cp = new FakeControlPlane();
    cp.publish(tableTo(4, 4, ['b', b]));
    await cp.start(cpPort);
    // Backoff is capped at 200 ms here, so the reconnect comes within a few hundred ms.
    const reconnectStarted = performance.now();
    await eventually(() => gateway.tableVersion === 4, { timeoutMs: 3_000, message: 'table 4 after the reconnect' });
    const tookMs = performance.now() - reconnectStarted;
    assert.ok(tookMs < 1_000, `reconnected and applied table 4 after ${tookMs.toFixed(0)} ms`);
    assert.equal(source.connected, true);
    const res = await inferOutcome(inferUrl());
    assert.equal(res.backend, 'b');
    assert.equal(res.revision, '4');
  });

  test('a stream that goes silent past idleTimeoutMs is reopened', async () => {
    const silent = new FakeControlPlane(null); // no heartbeats
    await silent.start();
    cleanups.push(() => silent.stop());
    silent.publish(tableTo(1, 1, ['a', a]));
    const sink = {
      tableVersion: undefined as number | undefined,
      setTable(t: RouteTable) {
        this.tableVersion = t.version;
      },
    };
    const watcher = new WatchTableSource(sink, {
      url: silent.url,
      minBackoffMs: 10,
      maxBackoffMs: 50,
      idleTimeoutMs: 300,
    }); // undici checks body timeouts about once a second
    cleanups.push(() => watcher.stop());
    await watcher.start();
    await eventually(() => sink.tableVersion === 1, { timeoutMs: 5_000, message: 'the table' });
    await eventually(() => silent.connections >= 2, {
      timeoutMs: 5_000,
      message: 'a second connection after the idle timeout',
    });
  });
});

describe('static tables and backoff', () => {
  test('StaticTableSource applies a table file, and names the file and field of a bad one', async () => {
    const g = new GatewayServer({ port: 0 });
    await g.start();
    cleanups.push(() => g.stop());
    const good = join(dir!, 'routes.json');
    await writeFile(good, JSON.stringify(tableTo(7, 1, ['a', a])));
    await new StaticTableSource(g, { file: good }).start();
    assert.equal(g.tableVersion, 7);
    assert.equal(
      (await http(`${g.url}/production/readmission/v2/models/readmission/infer`, { body: inferBody() })).status,
      200,
    );

    const bad = join(dir!, 'bad-routes.json');
    await writeFile(
      bad,
      JSON.stringify({
        version: 8,
        routes: [
          {
            environment: 'production',
            deployment: 'readmission',
            targets: [{ revision: 1, weight: 150, model: { name: 'r', version: '1' }, backends: [] }],
          },
        ],
      }),
    );
    await assert.rejects(
      new StaticTableSource(g, { file: bad }).start(),
      /bad-routes\.json\.routes\[0\]\.targets\[0\]\.weight: must be a number from 0 to 100, got 150/,
    );
    assert.equal(g.tableVersion, 7, 'a bad table changes nothing');
  });

  test('backoff grows exponentially with jitter and is capped', () => {
    for (let attempt = 0; attempt < 40; attempt++) {
      const ceiling = Math.min(10_000, 100 * 2 ** attempt);
      for (let i = 0; i < 20; i++) {
        const d = backoff(attempt, 100, 10_000);
        assert.ok(
          d >= ceiling / 2 - 1 && d <= ceiling + 1,
          `attempt ${attempt}: ${d} outside [${ceiling / 2}, ${ceiling}]`,
        );
      }
    }
  });
});
