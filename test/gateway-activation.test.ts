// Scale from zero for standalone gateways: the activate call to the control plane (path, method,
// failures logged at most once per route and interval), and `wharf gateway` as a real process
// against a fake control plane that publishes a backend when it is asked to activate: the held
// request is answered by that backend.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ControlPlaneActivator } from '../src/gateway/control-plane-activator.js';
import type { RouteTable } from '../src/protocol/route-table.js';
import { deadUrl, FakeUpstream, route, table, target } from './support/gateway.js';
import { startWharf } from './support/processes.js';
import { terminate } from './support/serving.js';
import { eventually } from './support/eventually.js';

const cleanups: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

/** A fake control plane: the route watch stream, and an activate endpoint answered by `onActivate`. */
class FakeControlPlane {
  readonly activations: string[] = [];
  private current: string | undefined;
  private readonly streams = new Set<ServerResponse>();
  private readonly server: Server;

  constructor(private readonly onActivate: (path: string, res: ServerResponse) => void) {
    this.server = createServer((req, res) => this.handle(req, res));
  }

  async start(): Promise<string> {
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    cleanups.push(() => this.stop());
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  publish(t: RouteTable): void {
    this.current = JSON.stringify(t);
    for (const res of this.streams) res.write(`${this.current}\n`);
  }

  async stop(): Promise<void> {
    for (const res of this.streams) res.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    req.resume();
    if (req.method === 'GET' && req.url === '/api/v1/routes/watch') {
      res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      if (this.current !== undefined) res.write(`${this.current}\n`);
      this.streams.add(res);
      res.once('close', () => this.streams.delete(res));
      return;
    }
    if (req.method === 'POST' && req.url?.endsWith('/activate')) {
      this.activations.push(req.url);
      this.onActivate(req.url, res);
      return;
    }
    res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not found"}');
  }
}

describe('ControlPlaneActivator', () => {
  test('POSTs the activate path of the route, encoded', async () => {
    const cp = new FakeControlPlane((_path, res) => res.writeHead(202).end('{}'));
    const lines: string[] = [];
    const activator = new ControlPlaneActivator({ controlPlane: `${await cp.start()}/`, log: (l) => lines.push(l) });
    activator.activate('production', 'risk score');
    await activator.settled();
    assert.deepEqual(cp.activations, ['/api/v1/environments/production/deployments/risk%20score/activate']);
    assert.deepEqual(lines, [], 'a 2xx is not logged');
  });

  test('a 404 or an unreachable control plane is logged, at most once per route per interval', async () => {
    const cp = new FakeControlPlane((_path, res) =>
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"no such endpoint"}'),
    );
    let now = 0;
    const lines: string[] = [];
    const activator = new ControlPlaneActivator({
      controlPlane: await cp.start(),
      log: (l) => lines.push(l),
      logIntervalMs: 30_000,
      clock: () => now,
    });
    for (let i = 0; i < 3; i++) activator.activate('production', 'risk');
    activator.activate('staging', 'risk');
    await activator.settled();
    assert.equal(cp.activations.length, 4, 'every call is made; only the logging is limited');
    assert.equal(lines.length, 2, lines.join('\n'));
    assert.match(
      lines[0]!,
      /^scale from zero: could not activate deployment 'risk' in environment '(production|staging)': POST http:\S+\/activate answered 404: \{"error":"no such endpoint"\}$/,
    );
    now += 30_000;
    activator.activate('production', 'risk');
    await activator.settled();
    assert.equal(lines.length, 3, 'logged again after the interval');

    const down = new ControlPlaneActivator({ controlPlane: await deadUrl(), log: (l) => lines.push(l) });
    down.activate('production', 'risk');
    await down.settled();
    assert.match(lines[3]!, /POST \S+ failed: ECONNREFUSED$/);
  });

  test('a control plane that does not answer is given up on after timeoutMs', async () => {
    const cp = new FakeControlPlane(() => {}); // never answers
    const lines: string[] = [];
    const activator = new ControlPlaneActivator({
      controlPlane: await cp.start(),
      log: (l) => lines.push(l),
      timeoutMs: 200,
    });
    activator.activate('production', 'risk');
    await activator.settled();
    assert.match(lines[0] ?? '', /failed: no answer within 200 ms$/);
  });
});

describe('wharf gateway', () => {
  test('a held request makes the gateway ask the control plane for a replica, and is answered once one is in the table', async () => {
    const replica = new FakeUpstream((req, res) => {
      req.resume();
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"served":true}');
    });
    cleanups.push(() => replica.stop());
    const replicaUrl = await replica.start();
    const hold = { queue: 10, timeoutMs: 30_000 };
    const tableWith = (version: number, backends: { id: string; url: string }[]): RouteTable =>
      table(version, [{ ...route('production', 'risk', [target(1, 100, backends)]), hold }]);
    // Activation "starts a replica": the next table has it.
    const cp = new FakeControlPlane((_path, res) => {
      res.writeHead(202, { 'content-type': 'application/json' }).end('{}');
      cp.publish(tableWith(2, [{ id: 'risk-1', url: replicaUrl }]));
    });
    const api = await cp.start();
    cp.publish(tableWith(1, []));

    const gw = startWharf(['gateway', '--control-plane', api, '--port', '0', '--debug-headers']);
    cleanups.push(() => terminate(gw));
    const gatewayUrl = await eventually(async () => /listening at (\S+),/.exec(gw.stdout())?.[1], {
      timeoutMs: 20_000,
      intervalMs: 100,
      message: 'the gateway URL',
    });
    await eventually(async () => (await fetch(`${gatewayUrl}/readyz`)).status === 200, {
      timeoutMs: 10_000,
      message: 'the gateway to get the table',
    });

    const res = await fetch(`${gatewayUrl}/production/risk/v2/models/risk/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"inputs":[]}',
      signal: AbortSignal.timeout(20_000),
    });
    assert.equal(res.status, 200, await res.clone().text());
    assert.equal(await res.text(), '{"served":true}');
    assert.equal(res.headers.get('x-wharf-backend'), 'risk-1');
    assert.equal(cp.activations[0], '/api/v1/environments/production/deployments/risk/activate');
    assert.equal(replica.requests, 1);
    assert.equal(await terminate(gw), 0, `clean exit; stderr: ${gw.stderr()}`);
  });
});
