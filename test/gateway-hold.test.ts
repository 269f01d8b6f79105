// Scale from zero at the gateway: requests for a route with `hold` and no replica wait in a
// bounded queue and are forwarded, in arrival order and with their bodies, once a table gives the
// route a backend (a real node:http backend); a full queue, a timeout, a removed route and a stop
// answer them; a client that leaves is dropped; `onHold` is called and rate-limited. Plus the
// per-route gauges and counters in the snapshot and on /metrics.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { GatewayServer } from '../src/gateway/gateway-server.js';
import type { RouteCounters } from '../src/protocol/gateway-snapshot.js';
import type { Backend, Route, RouteHold, RouteTable } from '../src/protocol/route-table.js';
import { FakeUpstream, gatewayFixtures, route, table, target } from './support/gateway.js';
import { expectError, http, type HttpResult, sampleValue, scrape, within } from './support/serving.js';
import { eventually } from './support/eventually.js';

const ENV = 'production';
const { newGateway, stopAfter } = gatewayFixtures();

/** A backend that answers every request with its body, recording the bodies in arrival order. */
async function echo(): Promise<{ upstream: FakeUpstream; bodies: string[]; backend: Backend }> {
  const bodies: string[] = [];
  const upstream = new FakeUpstream((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      bodies.push(body);
      res.writeHead(200, { 'content-type': 'application/json' }).end(body);
    });
  });
  stopAfter(upstream);
  return { upstream, bodies, backend: { id: 'echo', url: await upstream.start() } };
}

/** A table with route `deployment` (hold `hold`) on `backends`. */
const holdTable = (
  version: number,
  backends: readonly Backend[],
  hold: RouteHold | undefined,
  deployment = 'risk',
): RouteTable => {
  const r: Route = route(ENV, deployment, [target(1, 100, backends)]);
  return table(version, [hold === undefined ? r : { ...r, hold }]);
};
const inferUrl = (g: GatewayServer, deployment = 'risk') =>
  `${g.url}/${ENV}/${deployment}/v2/models/${deployment}/infer`;
const post = (g: GatewayServer, body: string, timeoutMs = 10_000, deployment = 'risk'): Promise<HttpResult> =>
  http(inferUrl(g, deployment), { body, timeoutMs });
const counters = (g: GatewayServer, deployment = 'risk'): RouteCounters | undefined =>
  g.snapshot().routes?.find((r) => r.environment === ENV && r.deployment === deployment);
const heldNow = (g: GatewayServer, deployment = 'risk') => counters(g, deployment)?.held ?? 0;
const unassignedCodes = (g: GatewayServer, deployment = 'risk') =>
  g.snapshot().revisions.find((r) => r.deployment === deployment && r.revision === '')?.codes ?? {};

/**
 * A POST whose body is streamed: `head` is sent at once, `tail` (and the end of the body) only
 * when `finish` is called, so a test can change the table while the body is still arriving.
 */
function streamedPost(g: GatewayServer, head: string, tail: string): { res: Promise<Response>; finish: () => void } {
  let finish: (() => void) | undefined;
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(new TextEncoder().encode(head));
      finish = () => {
        controller.enqueue(new TextEncoder().encode(tail));
        controller.close();
      };
    },
  });
  const res = fetch(inferUrl(g), {
    method: 'POST',
    body: stream,
    duplex: 'half',
    headers: { 'content-type': 'application/json' },
  } as RequestInit);
  return { res, finish: () => finish!() };
}

describe('hold and release', () => {
  test('held requests are forwarded with their bodies, in arrival order, once a table gives the route a backend', async () => {
    const holds: string[] = [];
    const g = await newGateway({
      onHold: (env, name) => holds.push(`${env}/${name}`),
      upstream: { connectionsPerBackend: 1 },
    });
    g.setTable(holdTable(1, [], { queue: 10, timeoutMs: 20_000 }));
    const pending: Promise<HttpResult>[] = [];
    for (let i = 0; i < 3; i++) {
      pending.push(post(g, JSON.stringify({ n: i })));
      await eventually(() => heldNow(g) === i + 1, { timeoutMs: 5_000, message: `request ${i} to be held` });
    }
    assert.deepEqual(holds, ['production/risk'], 'onHold was called when the first request was held');
    const { upstream, bodies, backend } = await echo();
    g.setTable(holdTable(2, [backend], { queue: 10, timeoutMs: 20_000 }));
    const results = await Promise.all(pending);
    assert.deepEqual(
      results.map((r) => [r.status, r.text, r.headers.get('x-wharf-backend')]),
      [0, 1, 2].map((n) => [200, `{"n":${n}}`, 'echo']),
    );
    assert.deepEqual(bodies, ['{"n":0}', '{"n":1}', '{"n":2}'], 'forwarded in arrival order');
    assert.equal(upstream.requests, 3);
    assert.deepEqual(counters(g), {
      environment: ENV,
      deployment: 'risk',
      inFlight: 0,
      held: 0,
      heldTotal: 3,
      holdRejected: 0,
      arrivals: 3,
    });
    // With a backend, requests go straight through.
    assert.equal((await post(g, '{"n":3}')).status, 200);
    assert.equal(counters(g)!.heldTotal, 3);
  });

  test('a held request whose body is still arriving is forwarded once the body is complete', async () => {
    const g = await newGateway();
    g.setTable(holdTable(1, [], { queue: 10, timeoutMs: 20_000 }));
    const { bodies, backend } = await echo();
    // A streamed body: the request is held at once, the table changes, then the body ends.
    const { res, finish } = streamedPost(g, '{"part":', '1}');
    await eventually(() => heldNow(g) === 1, { timeoutMs: 5_000, message: 'the request to be held' });
    g.setTable(holdTable(2, [backend], { queue: 10, timeoutMs: 20_000 }));
    assert.equal(heldNow(g), 0);
    finish();
    const done = await within(res, 10_000, 'the response');
    assert.equal(done.status, 200);
    assert.equal(await done.text(), '{"part":1}');
    assert.deepEqual(bodies, ['{"part":1}']);
  });
});

describe('scaled to zero while a request arrives', () => {
  test('a request whose route loses its replicas while its body arrives is held, then forwarded', async () => {
    const g = await newGateway();
    const { bodies, backend } = await echo();
    const hold = { queue: 10, timeoutMs: 20_000 };
    g.setTable(holdTable(1, [backend], hold));
    const { res, finish } = streamedPost(g, '{"late":', 'true}');
    await eventually(() => (counters(g)?.arrivals ?? 0) === 1, { timeoutMs: 5_000, message: 'the request to arrive' });
    g.setTable(holdTable(2, [], hold)); // scaled to zero
    finish();
    await eventually(() => heldNow(g) === 1, {
      timeoutMs: 5_000,
      message: 'the request to be held once its body is complete',
    });
    g.setTable(holdTable(3, [backend], hold));
    const done = await within(res, 10_000, 'the response');
    assert.equal(done.status, 200);
    assert.equal(await done.text(), '{"late":true}');
    assert.deepEqual(bodies, ['{"late":true}']);
    assert.equal(counters(g)!.heldTotal, 1);
  });

  test('a request whose route loses its replicas while its body arrives, with the hold queue full, gets the hold-full 503 and is counted', async () => {
    const g = await newGateway();
    const { backend } = await echo();
    const hold = { queue: 1, timeoutMs: 20_000 };
    g.setTable(holdTable(1, [backend], hold));
    const { res, finish } = streamedPost(g, '{"late":', 'true}');
    await eventually(() => (counters(g)?.arrivals ?? 0) === 1, { timeoutMs: 5_000, message: 'the request to arrive' });
    g.setTable(holdTable(2, [], hold)); // scaled to zero
    const first = post(g, '{}');
    await eventually(() => heldNow(g) === 1, { timeoutMs: 5_000, message: 'a second request to fill the hold queue' });
    finish();
    const done = await within(res, 10_000, 'the response');
    assert.equal(done.status, 503);
    assert.equal(
      ((await done.json()) as { error: string }).error,
      "deployment 'risk' in environment 'production' is scaled to zero and starting; the hold queue is full (1 requests)",
    );
    assert.ok(done.headers.get('retry-after'));
    assert.deepEqual(
      { ...counters(g) },
      { environment: ENV, deployment: 'risk', inFlight: 0, held: 1, heldTotal: 1, holdRejected: 1, arrivals: 2 },
    );
    g.setTable(holdTable(3, [backend], hold));
    assert.equal((await first).status, 200);
  });
});

describe('answers from the hold', () => {
  test('a full queue answers 503 at once with Retry-After; stop answers the held ones 503', async () => {
    const g = new GatewayServer({ port: 0, shutdownGraceMs: 1_000, retryAfterSeconds: 7 });
    await g.start();
    try {
      g.setTable(holdTable(1, [], { queue: 2, timeoutMs: 60_000 }));
      const held = [post(g, '{}'), post(g, '{}')];
      await eventually(() => heldNow(g) === 2, { timeoutMs: 5_000, message: 'two requests to be held' });
      const full = await post(g, '{}');
      assert.equal(
        expectError(full, 503),
        "deployment 'risk' in environment 'production' is scaled to zero and starting; the hold queue is full (2 requests)",
      );
      assert.equal(full.headers.get('retry-after'), '7');
      assert.deepEqual(
        { ...counters(g) },
        { environment: ENV, deployment: 'risk', inFlight: 0, held: 2, heldTotal: 2, holdRejected: 1, arrivals: 3 },
      );
      await g.stop();
      for (const res of await Promise.all(held)) {
        assert.equal(expectError(res, 503), 'the gateway is stopping');
        assert.equal(res.headers.get('retry-after'), '7');
      }
    } finally {
      await g.stop();
    }
  });

  test('a request held past timeoutMs gets 503 with Retry-After and says why', async () => {
    const g = await newGateway();
    g.setTable(holdTable(1, [], { queue: 5, timeoutMs: 300 }));
    const res = await post(g, '{}');
    assert.equal(
      expectError(res, 503),
      "deployment 'risk' in environment 'production' is scaled to zero and starting; it did not get a ready replica within 0.3 s",
    );
    assert.equal(res.headers.get('retry-after'), '1');
    assert.deepEqual(
      { ...counters(g) },
      { environment: ENV, deployment: 'risk', inFlight: 0, held: 0, heldTotal: 1, holdRejected: 1, arrivals: 1 },
    );
    assert.deepEqual(unassignedCodes(g), { 503: 1 });
  });

  test('a client that goes away while held is dropped (499) and never forwarded', async () => {
    const g = await newGateway();
    g.setTable(holdTable(1, [], { queue: 5, timeoutMs: 60_000 }));
    await assert.rejects(post(g, '{}', 300), /abort|timeout/i);
    await eventually(() => heldNow(g) === 0 && unassignedCodes(g)[499] === 1, {
      timeoutMs: 5_000,
      message: 'the held request to be dropped as 499',
    });
    const { upstream, backend } = await echo();
    g.setTable(holdTable(2, [backend], { queue: 5, timeoutMs: 60_000 }));
    assert.equal((await post(g, '{}')).status, 200);
    assert.equal(upstream.requests, 1, 'only the new request reached the backend');
    assert.equal(counters(g)!.heldTotal, 1);
  });

  test('a route removed while requests are held answers them 404; a table still without backends keeps them', async () => {
    const g = await newGateway();
    g.setTable(holdTable(1, [], { queue: 5, timeoutMs: 60_000 }));
    const held = post(g, '{}');
    await eventually(() => heldNow(g) === 1, { timeoutMs: 5_000, message: 'the request to be held' });
    g.setTable(holdTable(2, [], { queue: 5, timeoutMs: 60_000 }));
    assert.equal(heldNow(g), 1, 'still held: the new table has no backend either');
    g.setTable(holdTable(3, [], { queue: 5, timeoutMs: 60_000 }, 'other'));
    assert.equal(
      expectError(await held, 404),
      "no route for deployment 'risk' in environment 'production' (removed while the request was held)",
    );
  });

  test('a route without hold still answers 503 at once, and counts its arrivals', async () => {
    const g = await newGateway({ onHold: () => assert.fail('no hold on this route') });
    g.setTable(holdTable(1, [], undefined));
    const res = await post(g, '{}');
    assert.match(expectError(res, 503), /^no ready replica for deployment 'risk'/);
    assert.ok(res.headers.get('retry-after'));
    assert.deepEqual(
      { ...counters(g) },
      { environment: ENV, deployment: 'risk', inFlight: 0, held: 0, heldTotal: 0, holdRejected: 0, arrivals: 1 },
    );
  });
});

describe('onHold', () => {
  test('called when the first request is held, then at most once a second while requests stay held', async () => {
    const calls: number[] = [];
    const witness: number[] = [];
    const g = await newGateway({
      onHold: (_environment, deployment) => (deployment === 'risk' ? calls : witness).push(Date.now()),
    });
    g.setTable(holdTable(1, [], { queue: 50, timeoutMs: 2_500 }));
    const first = post(g, '{}');
    await eventually(() => calls.length === 1, { timeoutMs: 5_000, message: 'the first onHold call' });
    // More held requests do not call it again by themselves.
    const more = Array.from({ length: 10 }, () => post(g, '{}'));
    await eventually(() => heldNow(g) === 11, { timeoutMs: 5_000, message: 'eleven requests to be held' });
    assert.equal(calls.length, 1);
    await Promise.all([first, ...more]);
    const answeredAt = Date.now();
    // Held for ~2.5 s: reminders came, never closer than a second apart.
    assert.ok(calls.length >= 2, `reminders while held: ${calls.length} calls`);
    for (let i = 1; i < calls.length; i++)
      assert.ok(calls[i]! - calls[i - 1]! >= 950, `calls ${i - 1} and ${i} are ${calls[i]! - calls[i - 1]!} ms apart`);
    // A reminder period passed since the answers, with reminders running: a request held on another
    // route after them got its reminder, so a reminder left behind for 'risk' would have fired by now.
    const risk = holdTable(2, [], { queue: 50, timeoutMs: 2_500 }).routes[0]!;
    const other = holdTable(2, [], { queue: 5, timeoutMs: 1_500 }, 'witness').routes[0]!;
    g.setTable(table(2, [risk, other]));
    const witnessed = post(g, '{}', 10_000, 'witness');
    await eventually(() => witness.length >= 2, { timeoutMs: 5_000, message: 'the witness route to be reminded' });
    expectError(await witnessed, 503);
    assert.ok(
      calls.every((t) => t <= answeredAt),
      'no calls once nothing is held',
    );
  });

  test('a throwing onHold does not disturb the hold', async () => {
    const g = await newGateway({
      onHold: () => {
        throw new Error('control plane down');
      },
    });
    g.setTable(holdTable(1, [], { queue: 5, timeoutMs: 60_000 }));
    const held = post(g, '{"x":1}');
    await eventually(() => heldNow(g) === 1, { timeoutMs: 5_000, message: 'the request to be held' });
    const { backend } = await echo();
    g.setTable(holdTable(2, [backend], { queue: 5, timeoutMs: 60_000 }));
    assert.equal((await held).text, '{"x":1}');
  });
});

describe('route gauges', () => {
  test('inFlight counts dispatched requests until they finish, in the snapshot and on /metrics', async () => {
    const release: (() => void)[] = [];
    const slow = new FakeUpstream((req, res) => {
      req.resume();
      release.push(() => res.writeHead(200).end('{}'));
    });
    stopAfter(slow);
    const g = await newGateway();
    g.setTable(holdTable(1, [{ id: 'slow', url: await slow.start() }], { queue: 5, timeoutMs: 60_000 }));
    const pending = [post(g, '{}'), post(g, '{}')];
    await eventually(() => release.length === 2, { timeoutMs: 5_000, message: 'two requests at the backend' });
    assert.equal(counters(g)!.inFlight, 2);
    let samples = await scrape(g.url);
    const labels = { environment: ENV, deployment: 'risk' };
    assert.equal(sampleValue(samples, 'wharf_gateway_route_in_flight', labels), 2);
    assert.equal(sampleValue(samples, 'wharf_gateway_route_arrivals_total', labels), 2);
    for (const r of release) r();
    await Promise.all(pending);
    assert.equal(counters(g)!.inFlight, 0);
    samples = await scrape(g.url);
    assert.equal(sampleValue(samples, 'wharf_gateway_route_in_flight', labels), 0);
    for (const name of [
      'wharf_gateway_route_held',
      'wharf_gateway_route_held_total',
      'wharf_gateway_route_hold_rejected_total',
    ]) {
      assert.equal(sampleValue(samples, name, labels), 0, name);
    }
    // Carried across a table swap, like the other stats.
    g.setTable(holdTable(2, [{ id: 'slow', url: slow.url }], undefined));
    assert.equal(counters(g)!.arrivals, 2);
  });
});
