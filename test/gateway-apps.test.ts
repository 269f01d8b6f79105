// Applications behind the gateway, against real node:http (and `ws`) servers on port 0: the prefix
// is stripped and X-Forwarded-* set; host names route with the whole path; any method and every
// end-to-end header pass; request bodies stream (the replica reads the first chunk before the
// client sends the last), server-sent events arrive one by one, long polls outlast the model
// timeouts; WebSocket upgrades reach the revision the route's rules pick; a shadow copies only
// its methods (GET/HEAD by default) and compares status and body.
import { after, describe, test } from 'node:test';
import { once } from 'node:events';
import assert from 'node:assert/strict';
import { createServer, request, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import type { Route, RouteTable } from '../src/protocol/route-table.js';
import { FakeUpstream, gatewayFixtures, target } from './support/gateway.js';
import { eventually } from './support/eventually.js';

const ENV = 'production';
const { newGateway, stopAfter } = gatewayFixtures();

/** What an application replica received. */
interface Received {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly rawHeaders: string[];
  body: string;
  /** Body chunks as they arrived. */
  readonly chunks: string[];
  ended: boolean;
}

/** An application replica: records each request; `answer` replies (by default once the body is in, with JSON of it). */
function app(
  name: string,
  answer?: (req: IncomingMessage, res: ServerResponse, seen: Received) => void,
): { upstream: FakeUpstream; seen: Received[] } {
  const seen: Received[] = [];
  const upstream = new FakeUpstream((req, res) => {
    const r: Received = {
      method: req.method!,
      url: req.url!,
      headers: req.headers,
      rawHeaders: req.rawHeaders,
      body: '',
      chunks: [],
      ended: false,
    };
    seen.push(r);
    req.setEncoding('utf8');
    req.on('data', (c: string) => {
      r.chunks.push(c);
      r.body += c;
    });
    if (answer !== undefined) return answer(req, res, r);
    req.on('end', () => {
      r.ended = true;
      const body = JSON.stringify({ app: name, method: r.method, url: r.url, bytes: r.body.length });
      res.writeHead(200, { 'content-type': 'application/json' }).end(body);
    });
  });
  return { upstream: stopAfter(upstream), seen };
}

/** An application route over `targets` (revision → replica URL). */
function appRoute(deployment: string, targets: [number, number, string][], extra: Partial<Route> = {}): Route {
  return {
    environment: ENV,
    deployment,
    kind: 'application',
    protocol: 'http',
    targets: targets.map(([revision, weight, url]) =>
      target(revision, weight, [{ id: `${deployment}-${revision}`, url }]),
    ),
    ...extra,
  };
}

const tableOf = (...routes: Route[]): RouteTable => ({ version: 1, routes });

/** A request with node:http (which, unlike fetch, sends any `Host`); resolves once the whole answer is in. */
function call(
  base: string,
  path: string,
  options: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<{ status: number; headers: IncomingHttpHeaders; text: string }> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request({ hostname, port, path, method: options.method ?? 'GET', headers: options.headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, text }));
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

describe('application routes', () => {
  test('the prefix is stripped, every method and end-to-end header pass, X-Forwarded-* are set', async () => {
    const { upstream, seen } = app('api');
    const gateway = await newGateway();
    gateway.setTable(tableOf(appRoute('api', [[1, 100, await upstream.start()]])));
    const port = new URL(gateway.url).port;

    const put = await call(gateway.url, `/${ENV}/api/items/7?full=1`, {
      method: 'PUT',
      headers: {
        'content-type': 'application/json',
        cookie: 'session=abc',
        authorization: 'Bearer app-own-token',
        'x-custom': 'kept',
        'x-forwarded-for': '203.0.113.9',
      },
      body: '{"name":"seven"}',
    });
    assert.equal(put.status, 200, put.text);
    assert.equal(put.headers['x-wharf-revision'], '1');
    const got = seen.at(-1)!;
    assert.equal(got.method, 'PUT');
    assert.equal(got.url, '/items/7?full=1', 'prefix stripped, query kept');
    assert.equal(got.body, '{"name":"seven"}');
    assert.equal(got.headers.cookie, 'session=abc');
    assert.equal(
      got.headers.authorization,
      'Bearer app-own-token',
      'an open route passes the application its own credentials',
    );
    assert.equal(got.headers['x-custom'], 'kept');
    assert.equal(got.headers['x-forwarded-prefix'], `/${ENV}/api`);
    assert.equal(got.headers['x-forwarded-for'], '203.0.113.9, 127.0.0.1', 'the client address is appended');
    assert.equal(got.headers['x-forwarded-proto'], 'http');
    assert.equal(got.headers['x-forwarded-host'], `127.0.0.1:${port}`);
    assert.ok(got.headers['x-request-id'], 'a request id is made');

    for (const method of ['DELETE', 'PATCH', 'OPTIONS']) {
      const res = await call(gateway.url, `/${ENV}/api/x`, { method });
      assert.equal(res.status, 200, `${method}: ${res.text}`);
      assert.equal(seen.at(-1)!.method, method);
    }
    // The bare prefix is the application's root, its query included (even one holding a '/').
    await call(gateway.url, `/${ENV}/api`);
    assert.equal(seen.at(-1)!.url, '/');
    await call(gateway.url, `/${ENV}/api?next=/a/b`);
    assert.equal(seen.at(-1)!.url, '/?next=/a/b');
  });

  test('host routing: <name>.<environment>.<domain> forwards the whole path, with no prefix', async () => {
    const { upstream, seen } = app('web');
    const gateway = await newGateway({ domain: 'apps.test' });
    gateway.setTable(tableOf(appRoute('web', [[1, 100, await upstream.start()]])));
    const port = new URL(gateway.url).port;

    const res = await call(gateway.url, '/production/web/healthz', {
      headers: { host: `web.production.apps.test:${port}` },
    });
    assert.equal(res.status, 200, res.text);
    const got = seen.at(-1)!;
    assert.equal(got.url, '/production/web/healthz', 'by host the path is the application’s own');
    assert.equal(got.headers['x-forwarded-prefix'], undefined);
    assert.equal(got.headers['x-forwarded-host'], `web.production.apps.test:${port}`);
    // The gateway's own endpoints belong to the application under its host name.
    await call(gateway.url, '/healthz', { headers: { host: 'WEB.production.apps.test.' } });
    assert.equal(seen.at(-1)!.url, '/healthz');
    // Another domain is not this route's: the gateway answers itself.
    const own = await call(gateway.url, '/healthz', { headers: { host: 'web.production.localhost' } });
    assert.equal(own.text, '{"live":true}');
  });

  test('a request body streams: the replica reads the first chunk before the client sends the last', async () => {
    const { upstream, seen } = app('upload');
    const gateway = await newGateway({ maxBodyBytes: 1024 * 1024 });
    gateway.setTable(tableOf(appRoute('upload', [[1, 100, await upstream.start()]])));
    const { hostname, port } = new URL(gateway.url);
    const answer = new Promise<string>((resolve, reject) => {
      const req = request(
        { hostname, port, path: `/${ENV}/upload/files`, method: 'POST', headers: { 'transfer-encoding': 'chunked' } },
        (res) => {
          let text = '';
          res.on('data', (c: Buffer) => (text += c.toString()));
          res.on('end', () => resolve(text));
        },
      );
      req.on('error', reject);
      req.write('first-chunk;');
      // The second chunk goes out only once the replica has the first one: buffering would deadlock here.
      void eventually(() => seen[0]?.chunks.length, {
        timeoutMs: 5_000,
        message: 'the first chunk reached the replica',
      })
        .then(() => req.end('second-chunk'))
        .catch(reject);
    });
    assert.deepEqual(JSON.parse(await answer), { app: 'upload', method: 'POST', url: '/files', bytes: 24 });
    assert.equal(seen[0]!.chunks[0], 'first-chunk;');
  });

  test('a streamed body over the limit gets 413', async () => {
    const { upstream } = app('limited');
    const gateway = await newGateway({ maxBodyBytes: 1000 });
    gateway.setTable(tableOf(appRoute('limited', [[1, 100, await upstream.start()]])));
    const res = await call(gateway.url, `/${ENV}/limited/`, {
      method: 'POST',
      headers: { 'transfer-encoding': 'chunked' },
      body: 'x'.repeat(5000),
    }).catch((err: Error) => ({ status: 0, text: String(err), headers: {} }));
    // The replica may have started to answer before the gateway cut the body off; it did not here (it waits for the end).
    assert.equal(res.status, 413, res.text);
    assert.match(res.text, /gateway limit of 1000 bytes/);
  });

  test('server-sent events are delivered one by one; a long poll outlasts the model timeout', async () => {
    let sendSecond: (() => void) | undefined;
    const { upstream } = app('events', (req, res) => {
      if (req.url === '/poll') {
        // Answers after the gateway's model headers timeout (200 ms) has passed; applications get applicationTimeoutMs.
        setTimeout(() => res.writeHead(200, { 'content-type': 'text/plain' }).end('news'), 600);
        return;
      }
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      res.write('data: one\n\n');
      sendSecond = () => res.end('data: two\n\n');
    });
    const gateway = await newGateway({ upstream: { headersTimeoutMs: 200 }, applicationTimeoutMs: 5_000 });
    gateway.setTable(tableOf(appRoute('events', [[1, 100, await upstream.start()]])));

    const res = await fetch(`${gateway.url}/${ENV}/events/stream`);
    assert.equal(res.headers.get('content-type'), 'text/event-stream');
    const reader = res.body!.getReader();
    const first = await reader.read();
    assert.equal(
      Buffer.from(first.value!).toString(),
      'data: one\n\n',
      'the first event arrives while the second is not sent yet',
    );
    sendSecond!();
    let rest = '';
    for (let r = await reader.read(); !r.done; r = await reader.read()) rest += Buffer.from(r.value).toString();
    assert.equal(rest, 'data: two\n\n');

    const poll = await call(gateway.url, `/${ENV}/events/poll`);
    assert.equal(poll.status, 200, poll.text);
    assert.equal(poll.text, 'news');
  });

  test('WebSocket: echoed through the gateway by the revision the route rules pick', async () => {
    const servers = [1, 2].map((revision) => {
      const seenPaths: string[] = [];
      const server = createServer((_req, res) => res.writeHead(426).end());
      const wss = new WebSocketServer({ server });
      wss.on('connection', (ws, req) => {
        seenPaths.push(`${req.url} ${req.headers['x-forwarded-prefix']}`);
        ws.on('message', (m: Buffer) => ws.send(`r${revision}:${m.toString()}`));
      });
      after(() => {
        wss.close();
        server.closeAllConnections();
        server.close();
      });
      return { server, seenPaths };
    });
    const urls = await Promise.all(
      servers.map(async ({ server }) => {
        server.listen(0, '127.0.0.1');
        await once(server, 'listening');
        return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      }),
    );
    const gateway = await newGateway();
    gateway.setTable(
      tableOf(
        appRoute(
          'chat',
          [
            [1, 100, urls[0]!],
            [2, 0, urls[1]!],
          ],
          { matches: [{ header: { name: 'x-variant', value: 'b' }, revision: 2 }] },
        ),
      ),
    );
    const echo = async (headers: Record<string, string>): Promise<string> => {
      const ws = new WebSocket(`${gateway.url.replace('http', 'ws')}/${ENV}/chat/socket`, { headers });
      await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
      const reply = new Promise<string>((resolve) => ws.once('message', (m) => resolve(m.toString())));
      ws.send('hello');
      const text = await reply;
      ws.close();
      return text;
    };
    assert.equal(await echo({}), 'r1:hello');
    assert.equal(await echo({ 'x-variant': 'b' }), 'r2:hello', 'the header match sends the upgrade to revision 2');
    assert.deepEqual(servers[1]!.seenPaths, [`/socket /${ENV}/chat`]);
  });

  test('shadow: GET and HEAD are mirrored by default, POST is not; status and JSON value are compared', async () => {
    // The mirror answers the same JSON value with its keys in another order: agreed.
    const primary = app('primary', (req, res) => req.on('end', () => res.writeHead(200).end('{"a":1,"b":[2,3]}')));
    const shadow = app('shadow', (req, res) => req.on('end', () => res.writeHead(200).end('{"b":[2,3],"a":1}')));
    const gateway = await newGateway();
    const mirrored = (methods?: string[]) =>
      appRoute(
        'shop',
        [
          [1, 100, primary.upstream.url],
          [2, 0, shadow.upstream.url],
        ],
        { mirror: { revision: 2, percent: 100, ...(methods === undefined ? {} : { methods }) } },
      );
    await primary.upstream.start();
    await shadow.upstream.start();
    gateway.setTable(tableOf(mirrored()));
    const counters = () => gateway.snapshot().shadows.find((s) => s.deployment === 'shop')!;

    assert.equal((await call(gateway.url, `/${ENV}/shop/cart`, { method: 'POST', body: '{}' })).status, 200);
    // The copy is decided before the primary is dispatched, so its answer has come back with the verdict made.
    assert.equal(counters().mirrored, 0, 'a POST is not mirrored by default');
    assert.equal((await call(gateway.url, `/${ENV}/shop/cart`)).status, 200);
    assert.equal(counters().mirrored, 1, 'a GET is');
    await eventually(() => counters().compared === 1, { timeoutMs: 5_000, message: 'the pair was compared' });
    assert.equal(counters().agreed, 1, 'equal JSON values agree');
    assert.deepEqual(
      shadow.seen.map((s) => s.method),
      ['GET'],
    );
    assert.equal(shadow.seen[0]!.headers['x-wharf-shadow'], '1');

    gateway.setTable({ version: 2, routes: [mirrored(['POST'])] });
    await call(gateway.url, `/${ENV}/shop/cart`, { method: 'POST', body: '{}' });
    await call(gateway.url, `/${ENV}/shop/cart`);
    await eventually(() => shadow.seen.length === 2, { timeoutMs: 5_000, message: 'the POST copy arrived' });
    assert.deepEqual(
      shadow.seen.map((s) => s.method),
      ['GET', 'POST'],
      'methods: [POST] mirrors POSTs only',
    );
  });

  test('a model route refuses upgrades; an unknown one is 404', async () => {
    const gateway = await newGateway();
    const url = await app('m').upstream.start();
    gateway.setTable(tableOf({ environment: ENV, deployment: 'model', targets: [target(1, 100, [{ id: 'm', url }])] }));
    const statusOf = (path: string) =>
      new Promise<number>((resolve) => {
        const ws = new WebSocket(`${gateway.url.replace('http', 'ws')}${path}`);
        ws.once('unexpected-response', (_req, res) => resolve(res.statusCode!));
        ws.once('error', () => undefined);
      });
    assert.equal(await statusOf(`/${ENV}/model/socket`), 400);
    assert.equal(await statusOf(`/${ENV}/nothing/socket`), 404);
  });
});
