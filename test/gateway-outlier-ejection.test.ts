// Outlier ejection by responses, against real node:http backends that answer 500 or hang past a
// short headers timeout: ejection after N consecutive errors, no traffic during the period,
// re-ejection with a doubled period, readmission after a good answer, the max-percent bound, and
// the events and metrics that report it.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import type { GatewayServer } from '../src/gateway/gateway-server.js';
import type { EjectionEvent } from '../src/protocol/gateway-snapshot.js';
import type { Backend, RouteOutlierDetection } from '../src/protocol/route-table.js';
import { deadUrl, FakeUpstream, gatewayFixtures, inferBody, route, table, target } from './support/gateway.js';
import { http, sampleValue, scrape } from './support/serving.js';
import { letTimePass } from './support/eventually.js';

const ENV = 'production';
const { newGateway, stopAfter } = gatewayFixtures();

/** A backend whose answer is `status` (0 = never answer) and can be changed at any time. */
class Replica {
  status = 200;
  readonly upstream = new FakeUpstream((req, res) => {
    req.resume();
    this.answer(res);
  });
  url = '';

  async start(): Promise<this> {
    stopAfter(this.upstream);
    this.url = await this.upstream.start();
    return this;
  }

  get requests(): number {
    return this.upstream.requests;
  }

  backend(id: string): Backend {
    return { id, url: this.url };
  }

  private answer(res: ServerResponse): void {
    if (this.status === 0) return; // hang: the gateway's headers timeout fires
    res.writeHead(this.status, { 'content-type': 'application/json' }).end('{}');
  }
}

const replicas = (n: number) => Promise.all(Array.from({ length: n }, () => new Replica().start()));
const inferUrl = (g: GatewayServer, deployment: string) =>
  `${g.url}/${ENV}/${deployment}/v2/models/${deployment}/infer`;
const send = async (g: GatewayServer, deployment: string) => {
  const res = await http(inferUrl(g, deployment), { body: inferBody() });
  return { status: res.status, backend: res.headers.get('x-wharf-backend') };
};
const ejected = (g: GatewayServer, backend: string) =>
  g.ejectionsSince(0).filter((e) => e.backend === backend && e.type === 'ejected');

/** Sends requests one at a time until `done` holds (at most `max`). */
async function sendUntil(
  g: GatewayServer,
  deployment: string,
  done: () => boolean,
  what: string,
  max = 400,
): Promise<void> {
  for (let i = 0; i < max && !done(); i++) await send(g, deployment);
  assert.ok(done(), `${what} within ${max} requests`);
}

describe('ejection by 5xx answers', () => {
  test('ejected after N consecutive 5xx, skipped for the period, re-ejected for twice as long, then readmitted', async () => {
    const [bad, good] = await replicas(2);
    const outlierDetection: RouteOutlierDetection = {
      consecutiveErrors: 3,
      baseEjectionMs: 1_000,
      maxEjectionMs: 10_000,
      maxEjectedPercent: 50,
    };
    const g = await newGateway();
    g.setTable(
      table(1, [
        { ...route(ENV, 'risk', [target(1, 100, [bad!.backend('bad'), good!.backend('good')])]), outlierDetection },
      ]),
    );
    bad!.status = 500;

    // 1. Three 500s in a row eject it.
    await sendUntil(g, 'risk', () => bad!.requests === 3, 'the bad replica to get 3 requests');
    const [first] = ejected(g, 'bad');
    assert.ok(first, 'an ejection event');
    assert.deepEqual(
      { ...first, seq: 0, time: 0 },
      {
        seq: 0,
        time: 0,
        environment: ENV,
        deployment: 'risk',
        revision: 1,
        backend: 'bad',
        type: 'ejected',
        reason: '3 consecutive 5xx responses',
        durationMs: 1_000,
      },
    );

    // 2. No request reaches it while the period runs.
    const sentDuring: string[] = [];
    while (Date.now() < first.time + first.durationMs! - 150)
      sentDuring.push((await send(g, 'risk')).backend ?? 'none');
    assert.ok(sentDuring.length > 0);
    assert.deepEqual(new Set(sentDuring), new Set(['good']), 'only the good replica answered during the ejection');
    assert.equal(bad!.requests, 3);

    // 3. After the period it is tried again; one more 500 ejects it at once, for twice as long.
    await sendUntil(g, 'risk', () => bad!.requests === 4, 'the ejected replica to be tried again');
    const second = ejected(g, 'bad')[1];
    assert.ok(second, 'a second ejection on the first bad answer after the period');
    assert.equal(second.reason, 'answered 500 after ejection');
    assert.equal(second.durationMs, 2_000);
    assert.equal(second.seq, first.seq + 1);

    // 4. A good answer after the period readmits it, and the count starts over.
    bad!.status = 200;
    await letTimePass(Math.max(0, second.time + 2_000 - Date.now()), 'the second ejection period (2 s) runs out');
    await sendUntil(g, 'risk', () => bad!.requests === 5, 'the replica to be tried after its second period');
    const readmitted = g.ejectionsSince(second.seq);
    assert.equal(readmitted.length, 1);
    assert.deepEqual(
      { type: readmitted[0]!.type, reason: readmitted[0]!.reason, backend: readmitted[0]!.backend },
      {
        type: 'readmitted',
        reason: 'answered 200 after ejection',
        backend: 'bad',
      },
    );
    bad!.status = 500;
    const before = bad!.requests;
    await sendUntil(g, 'risk', () => bad!.requests === before + 3, 'three more requests to the readmitted replica');
    const third = ejected(g, 'bad')[2];
    assert.ok(third, 'ejected again after 3 new errors');
    assert.equal(third.reason, '3 consecutive 5xx responses');
    assert.equal(third.durationMs, 1_000, 'the backoff was reset by the readmission');

    // Snapshot and metrics report the same.
    assert.deepEqual(
      g.snapshot().ejections!.map((e) => e.seq),
      g.ejectionsSince(0).map((e) => e.seq),
    );
    const samples = await scrape(g.url);
    const labels = { environment: ENV, deployment: 'risk', revision: '1' };
    assert.equal(sampleValue(samples, 'wharf_gateway_ejections_total', { ...labels, reason: '5xx' }), 3);
    assert.equal(sampleValue(samples, 'wharf_gateway_ejections_total', { ...labels, reason: 'timeout' }), 0);
    assert.equal(sampleValue(samples, 'wharf_gateway_ejected_backends', labels), 1);
  });

  test('a good answer between errors resets the count', async () => {
    const [flaky, good] = await replicas(2);
    const g = await newGateway({
      outlierDetection: { consecutiveErrors: 3, baseEjectionMs: 10_000, maxEjectionMs: 10_000, maxEjectedPercent: 50 },
    });
    g.setTable(table(1, [route(ENV, 'flaky', [target(1, 100, [flaky!.backend('flaky'), good!.backend('good')])])]));
    // 500, 500, 200, repeated: never 3 in a row.
    for (let round = 0; round < 4; round++) {
      for (const status of [500, 500, 200]) {
        flaky!.status = status;
        const seen = flaky!.requests;
        await sendUntil(g, 'flaky', () => flaky!.requests === seen + 1, 'a request to the flaky replica');
      }
    }
    assert.deepEqual(g.ejectionsSince(0), [], 'the gateway default (3 in a row) was never reached');
  });
});

describe('ejection by timeouts and connect failures', () => {
  test('timeouts past the headers timeout eject; a dead replica is ejected for connect failures', async () => {
    const [slow, good] = await replicas(2);
    const dead = await deadUrl();
    const g = await newGateway({ upstream: { headersTimeoutMs: 300 } });
    g.setTable(
      table(1, [
        {
          ...route(ENV, 'slow', [target(2, 100, [slow!.backend('slow'), good!.backend('good')])]),
          outlierDetection: {
            consecutiveErrors: 2,
            baseEjectionMs: 30_000,
            maxEjectionMs: 30_000,
            maxEjectedPercent: 50,
          },
        },
        route(ENV, 'down', [target(5, 100, [{ id: 'dead', url: dead }, good!.backend('good-2')])]),
      ]),
    );
    slow!.status = 0;
    const statuses: number[] = [];
    for (let i = 0; i < 50 && ejected(g, 'slow').length === 0; i++) statuses.push((await send(g, 'slow')).status);
    const [event] = ejected(g, 'slow');
    assert.ok(event, 'ejected after timeouts');
    assert.equal(event.reason, '2 consecutive timeouts');
    assert.equal(statuses.filter((s) => s === 504).length, 2, 'the two timed-out requests got 504');

    await sendUntil(g, 'down', () => ejected(g, 'dead').length > 0, 'a connect-failure ejection');
    const connect = ejected(g, 'dead')[0]!;
    assert.equal(connect.reason, 'connect failure (ECONNREFUSED)');
    assert.equal(connect.revision, 5);
    assert.equal(connect.durationMs, 1_000, 'the connect-failure base (ejection.baseMs)');

    const samples = await scrape(g.url);
    assert.equal(sampleValue(samples, 'wharf_gateway_ejections_total', { deployment: 'slow', reason: 'timeout' }), 1);
    assert.equal(sampleValue(samples, 'wharf_gateway_ejections_total', { deployment: 'down', reason: 'connect' }), 1);
    assert.equal(sampleValue(samples, 'wharf_gateway_ejected_backends', { deployment: 'slow' }), 1);
  });
});

describe('bounds', () => {
  test('at most maxEjectedPercent of a target (at least one of two), never a lone or last backend', async () => {
    const four = await replicas(4);
    const [lone] = await replicas(1);
    const two = await replicas(2);
    const strict = (percent: number): RouteOutlierDetection => ({
      consecutiveErrors: 1,
      baseEjectionMs: 60_000,
      maxEjectionMs: 60_000,
      maxEjectedPercent: percent,
    });
    const g = await newGateway();
    g.setTable(
      table(1, [
        {
          ...route(ENV, 'four', [
            target(
              1,
              100,
              four.map((r, i) => r.backend(`four-${i}`)),
            ),
          ]),
          outlierDetection: strict(50),
        },
        { ...route(ENV, 'lone', [target(1, 100, [lone!.backend('lone')])]), outlierDetection: strict(100) },
        {
          ...route(ENV, 'two', [
            target(
              1,
              100,
              two.map((r, i) => r.backend(`two-${i}`)),
            ),
          ]),
          outlierDetection: strict(100),
        },
      ]),
    );
    for (const r of [...four, lone!, ...two]) r.status = 503;
    const results: number[] = [];
    for (let i = 0; i < 40; i++) for (const d of ['four', 'lone', 'two']) results.push((await send(g, d)).status);
    assert.deepEqual(new Set(results), new Set([503]), 'every answer was passed on');
    const events = g.ejectionsSince(0);
    const byRoute = (d: string) => events.filter((e: EjectionEvent) => e.deployment === d).length;
    assert.equal(byRoute('four'), 2, '50% of 4');
    assert.equal(byRoute('lone'), 0, 'a lone backend is never ejected');
    assert.equal(byRoute('two'), 1, 'one of two even at 100%: never the last usable one');
    const samples = await scrape(g.url);
    assert.equal(sampleValue(samples, 'wharf_gateway_ejected_backends', { deployment: 'four' }), 2);
    // The remaining ones still get all the traffic.
    const out = new Set(events.map((e) => e.backend));
    const after = await Promise.all(Array.from({ length: 20 }, () => send(g, 'four')));
    assert.ok(
      after.every((r) => r.backend !== null && !out.has(r.backend)),
      'ejected backends get nothing during the period',
    );
  });

  test('a draining 503 passed on (no attempt left) is not an error', async () => {
    const [other] = await replicas(1);
    const draining = new FakeUpstream((req, res) => {
      req.resume();
      res.writeHead(503, { 'x-wharf-draining': '1' }).end('{"error":"draining"}');
    });
    stopAfter(draining);
    const g = await newGateway({
      maxAttempts: 1,
      outlierDetection: { consecutiveErrors: 1, baseEjectionMs: 60_000, maxEjectionMs: 60_000, maxEjectedPercent: 50 },
    });
    g.setTable(
      table(1, [
        route(ENV, 'drain', [
          target(1, 100, [{ id: 'drainer', url: await draining.start() }, other!.backend('other')]),
        ]),
      ]),
    );
    await sendUntil(g, 'drain', () => draining.requests >= 5, 'five requests to the draining replica');
    assert.deepEqual(g.ejectionsSince(0), []);
  });
});
