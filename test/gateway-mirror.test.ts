// Shadow releases at the gateway: mirrored copies of live requests, compared with the primary's
// responses. Against real model servers (a mirror of the same model agrees on every pair) and
// against controllable node:http upstreams on port 0 (a mirror that is slow, wrong, failing or
// unreachable; big bodies; the in-flight bound; table swaps while copies are in flight).
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeDemoModels } from '../src/demo/write-demo-models.js';
import type { ShadowCounters } from '../src/protocol/gateway-snapshot.js';
import { GatewayServer, type GatewayServerOptions } from '../src/gateway/gateway-server.js';
import type { Backend, RouteMirror, RouteTable } from '../src/protocol/route-table.js';
import { INLINE_COMPARE_BYTES } from '../src/gateway/shadow-comparer.js';
import { deadUrl, FakeUpstream, inferBody, route, table, target } from './support/gateway.js';
import type { ModelServerProcess } from './support/processes.js';
import { http, sampleValue, scrape, startModelServers, stopAll } from './support/serving.js';
import { eventually, letTimePass } from './support/eventually.js';

const ENV = 'production';
const inferPath = (deployment: string) => `/${ENV}/${deployment}/v2/models/${deployment}/infer`;

/** An inference-protocol response with a probability and a label per row. */
const oip = (probabilities: readonly number[], version = '1'): string =>
  JSON.stringify({
    model_name: 'm',
    model_version: version,
    outputs: [
      { name: 'probability', datatype: 'FP32', shape: [probabilities.length, 1], data: probabilities },
      {
        name: 'label',
        datatype: 'INT64',
        shape: [probabilities.length, 1],
        data: probabilities.map((p) => (p >= 0.5 ? 1 : 0)),
      },
    ],
  });
const PRIMARY_BODY = oip([0.25, 0.75]);

/** What an upstream received. */
interface Seen {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/** A node:http upstream that records each request and answers with `answer` once the body is in. */
class Upstream {
  readonly seen: Seen[] = [];
  readonly server: FakeUpstream;
  private held: (() => void)[] = [];
  holding = false;

  constructor(private readonly answer: (res: ServerResponse, seen: Seen) => void) {
    this.server = new FakeUpstream((req: IncomingMessage, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const seen = {
          method: req.method!,
          url: req.url!,
          headers: req.headers,
          body: Buffer.concat(chunks).toString(),
        };
        this.seen.push(seen);
        if (this.holding) this.held.push(() => this.answer(res, seen));
        else this.answer(res, seen);
      });
    });
  }

  /** Requests received and not answered yet (while holding). */
  get pending(): number {
    return this.held.length;
  }

  /** Answers every held request and stops holding. */
  release(): void {
    this.holding = false;
    for (const answer of this.held.splice(0)) answer();
  }
}

const json = (status: number, body: string) => (res: ServerResponse) => {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(body);
};

const upstreams: Upstream[] = [];
const gateways: GatewayServer[] = [];
const started: ModelServerProcess[] = [];
let dir: string | undefined;

async function upstream(
  answer: (res: ServerResponse, seen: Seen) => void,
): Promise<{ upstream: Upstream; backend: Backend }> {
  const u = new Upstream(answer);
  upstreams.push(u);
  return { upstream: u, backend: { id: `u${upstreams.length}`, url: await u.server.start() } };
}

async function newGateway(options: GatewayServerOptions = {}): Promise<GatewayServer> {
  const g = new GatewayServer({ port: 0, shutdownGraceMs: 2_000, ...options });
  gateways.push(g);
  await g.start();
  return g;
}

/** A route `deployment` with revision 1 (weight 100) on `primary`, revision 2 (weight 0) on `mirror`, mirrored per `mirror`. */
const mirrored = (deployment: string, primary: Backend[], mirror: Backend[], rule: Partial<RouteMirror> = {}) =>
  route(ENV, deployment, [target(1, 100, primary, deployment), target(2, 0, mirror, deployment)], {
    mirror: { revision: 2, percent: 100, ...rule },
  });

/** The shadow counters of (deployment, revision 2), or undefined. */
const shadowOf = (g: GatewayServer, deployment: string, revision = 2): ShadowCounters | undefined =>
  g.snapshot().shadows.find((s) => s.environment === ENV && s.deployment === deployment && s.revision === revision);

/** Sends `n` inference requests one after another; asserts each got the primary's status and body. */
async function sendAndExpect(
  g: GatewayServer,
  deployment: string,
  n: number,
  status = 200,
  body = PRIMARY_BODY,
): Promise<void> {
  for (let i = 0; i < n; i++) {
    const res = await http(`${g.url}${inferPath(deployment)}`, { body: inferBody() });
    assert.equal(res.status, status, res.text);
    assert.equal(res.text, body);
    assert.equal(res.headers.get('x-wharf-revision'), '1');
  }
}

after(async () => {
  await Promise.all(gateways.map((g) => g.stop()));
  for (const u of upstreams) u.release();
  await Promise.all(upstreams.map((u) => u.server.stop()));
  await stopAll(started);
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('with real model servers', () => {
  test('a 100% mirror to a replica of the same model agrees on every pair, with zero difference', async () => {
    dir = await mkdtemp(join(tmpdir(), 'wharf-mirror-test-'));
    const { readmission } = await writeDemoModels(dir);
    const args = ['--model', readmission, '--name', 'readmission'];
    const [a, b] = await startModelServers([args, args], started);
    const g = await newGateway();
    g.setTable(table(1, [mirrored('readmission', [{ id: 'a', url: a.url }], [{ id: 'b', url: b.url }])]));
    let rows = 0;
    for (let i = 1; i <= 20; i++) {
      const body = inferBody((i % 4) + 1, `req-${i}`);
      rows += (i % 4) + 1;
      const via = await http(`${g.url}${inferPath('readmission')}`, { body });
      const direct = await http(`${a.url}/v2/models/readmission/infer`, { body });
      assert.equal(via.status, 200, via.text);
      assert.equal(via.text, direct.text);
    }
    await eventually(() => shadowOf(g, 'readmission')?.compared === 20, {
      timeoutMs: 5_000,
      message: '20 compared pairs',
    });
    const s = shadowOf(g, 'readmission')!;
    assert.deepEqual(
      { ...s, primaryLatencySum: 0, shadowLatencySum: 0 },
      {
        environment: ENV,
        deployment: 'readmission',
        revision: 2,
        mirrored: 20,
        dropped: 0,
        compared: 20,
        agreed: 20,
        numericElements: rows * 2,
        absDiffSum: 0,
        primaryLatencySum: 0,
        shadowLatencySum: 0,
        primaryErrors: 0,
        shadowErrors: 0,
      },
    );
    assert.ok(s.primaryLatencySum > 0 && s.shadowLatencySum > 0);
    const samples = await scrape(b.url);
    assert.equal(
      sampleValue(samples, 'wharf_inference_requests_total', { model: 'readmission', code: '200' }),
      20,
      'the mirror ran every copy',
    );
  });
});

describe('the caller never waits for, or sees, the mirror', () => {
  test('a mirror that has not answered: callers get the primary at once; the pairs compare once it does', async () => {
    const primary = await upstream(json(200, PRIMARY_BODY));
    const slow = await upstream(json(200, PRIMARY_BODY));
    slow.upstream.holding = true;
    const g = await newGateway();
    g.setTable(table(1, [mirrored('held', [primary.backend], [slow.backend])]));
    await sendAndExpect(g, 'held', 5);
    await eventually(() => slow.upstream.pending === 5, { timeoutMs: 5_000, message: 'the mirror to hold 5 copies' });
    assert.equal(shadowOf(g, 'held')?.compared, 0);
    assert.equal(shadowOf(g, 'held')?.mirrored, 5);
    await letTimePass(300, 'the mirror answers 300 ms after the primary: the gateway measures both latencies');
    slow.upstream.release();
    await eventually(() => shadowOf(g, 'held')?.compared === 5, { timeoutMs: 5_000, message: '5 compared pairs' });
    const s = shadowOf(g, 'held')!;
    assert.equal(s.agreed, 5);
    assert.ok(
      s.shadowLatencySum - s.primaryLatencySum > 5 * 0.25,
      `mirror ${s.shadowLatencySum} s vs primary ${s.primaryLatencySum} s`,
    );
    // The copy is the request: same method, path, forwarded headers and body, marked as a shadow.
    const [original, copy] = [primary.upstream.seen[0]!, slow.upstream.seen[0]!];
    assert.equal(copy.method, 'POST');
    assert.equal(copy.url, original.url);
    assert.equal(copy.body, inferBody());
    assert.equal(copy.headers['content-type'], 'application/json');
    assert.equal(copy.headers['x-request-id'], original.headers['x-request-id']);
    assert.equal(copy.headers['x-wharf-shadow'], '1');
    assert.equal(original.headers['x-wharf-shadow'], undefined);
  });

  test('mirrors that fail (500) or refuse connections count as shadow errors; callers are unaffected', async () => {
    const primary = await upstream(json(200, PRIMARY_BODY));
    const failing = await upstream(json(500, '{"error":"boom"}'));
    const g = await newGateway();
    g.setTable(
      table(1, [
        mirrored('failing', [primary.backend], [failing.backend]),
        mirrored('refused', [primary.backend], [{ id: 'dead', url: await deadUrl() }]),
      ]),
    );
    await sendAndExpect(g, 'failing', 10);
    await sendAndExpect(g, 'refused', 10);
    for (const deployment of ['failing', 'refused']) {
      await eventually(() => shadowOf(g, deployment)?.shadowErrors === 10, {
        timeoutMs: 5_000,
        message: `10 shadow errors on ${deployment}`,
      });
      const s = shadowOf(g, deployment)!;
      assert.deepEqual([s.mirrored, s.compared, s.agreed, s.primaryErrors], [10, 0, 0, 0], deployment);
    }
    assert.equal(failing.upstream.seen.length, 10);
  });

  test('a mirror replica that answers 5xx is ejected by outlier detection, like a primary one, and gets no more copies', async () => {
    const primary = await upstream(json(200, PRIMARY_BODY));
    const bad = await upstream(json(500, '{"error":"boom"}'));
    const good = await upstream(json(200, PRIMARY_BODY));
    const g = await newGateway({
      outlierDetection: { consecutiveErrors: 3, baseEjectionMs: 60_000, maxEjectionMs: 60_000, maxEjectedPercent: 50 },
    });
    g.setTable(table(1, [mirrored('shadowy', [primary.backend], [bad.backend, good.backend])]));
    // The balancer picks each copy's replica at random (power of two choices), so how many of a
    // fixed number of copies reach the bad replica is chance (fewer than 3 of 12 in 2% of runs):
    // send one at a time until it has had three.
    let sent = 0;
    await eventually(
      async () => {
        await sendAndExpect(g, 'shadowy', 1);
        sent++;
        return bad.upstream.seen.length >= 3;
      },
      { timeoutMs: 10_000, message: () => `the failing mirror replica to get 3 copies (${sent} sent)` },
    );
    await eventually(() => g.ejectionsSince(0).some((e) => e.backend === bad.backend.id && e.type === 'ejected'), {
      timeoutMs: 5_000,
      message: 'the failing mirror replica to be ejected',
    });
    const [event] = g.ejectionsSince(0);
    assert.deepEqual(
      { ...event, seq: 0, time: 0 },
      {
        seq: 0,
        time: 0,
        environment: ENV,
        deployment: 'shadowy',
        revision: 2,
        backend: bad.backend.id,
        type: 'ejected',
        reason: '3 consecutive 5xx responses',
        durationMs: 60_000,
      },
    );
    const settled = (n: number) => {
      const s = shadowOf(g, 'shadowy');
      return s !== undefined && s.mirrored === n && s.compared + s.shadowErrors === n;
    };
    await eventually(() => settled(sent), { timeoutMs: 5_000, message: 'the pairs to settle' });
    const seenByBad = bad.upstream.seen.length;
    await sendAndExpect(g, 'shadowy', 6);
    await eventually(() => settled(sent + 6), { timeoutMs: 5_000, message: 'the last pairs to settle' });
    assert.equal(bad.upstream.seen.length, seenByBad, 'no copy went to the ejected replica');
    assert.equal(good.upstream.seen.length, sent + 6 - seenByBad);
    assert.equal(primary.upstream.seen.length, sent + 6);
  });
});

describe('comparison counters', () => {
  test('a mirror with different numbers: no pair agrees, and the absolute differences add up', async () => {
    const primary = await upstream(json(200, PRIMARY_BODY));
    const off = await upstream(json(200, oip([0.35, 0.7], '2')));
    const g = await newGateway();
    g.setTable(table(1, [mirrored('off', [primary.backend], [off.backend], { tolerance: 0.01 })]));
    await sendAndExpect(g, 'off', 10);
    await eventually(() => shadowOf(g, 'off')?.compared === 10, { timeoutMs: 5_000, message: '10 compared pairs' });
    const s = shadowOf(g, 'off')!;
    assert.equal(s.agreed, 0);
    assert.equal(s.numericElements, 40, '2 probabilities and 2 labels per pair');
    assert.ok(Math.abs(s.absDiffSum - 10 * (0.1 + 0.05)) < 1e-9, String(s.absDiffSum));
    // Within a looser tolerance the same responses agree.
    g.setTable(table(2, [mirrored('off', [primary.backend], [off.backend], { tolerance: 0.2 })]));
    await sendAndExpect(g, 'off', 4);
    await eventually(() => shadowOf(g, 'off')?.compared === 14, { timeoutMs: 5_000, message: '14 compared pairs' });
    assert.equal(shadowOf(g, 'off')!.agreed, 4);
  });

  test('a failing primary counts as a primary error and is not compared', async () => {
    const primary = await upstream(json(503, '{"error":"busy"}'));
    const mirror = await upstream(json(200, PRIMARY_BODY));
    const g = await newGateway();
    g.setTable(table(1, [mirrored('busy', [primary.backend], [mirror.backend])]));
    await sendAndExpect(g, 'busy', 3, 503, '{"error":"busy"}');
    await eventually(() => shadowOf(g, 'busy')?.primaryErrors === 3, { timeoutMs: 5_000, message: '3 primary errors' });
    assert.deepEqual([shadowOf(g, 'busy')!.compared, shadowOf(g, 'busy')!.shadowErrors], [0, 0]);
  });

  test('large bodies are compared too (off the event loop), element by element', async () => {
    const n = 20_000; // about 200 KB per response, so each pair goes to the comparison worker
    const values = Array.from({ length: n }, (_, i) => (i % 1000) / 1000);
    const changed = values.map((v, i) => (i === 123 ? v + 0.5 : v));
    const [bigPrimary, same, differs] = [oip(values), oip(values, '2'), oip(changed, '2')];
    assert.ok(bigPrimary.length > INLINE_COMPARE_BYTES, String(bigPrimary.length));
    const primary = await upstream(json(200, bigPrimary));
    const twin = await upstream(json(200, same));
    const other = await upstream(json(200, differs));
    const g = await newGateway();
    g.setTable(
      table(1, [
        mirrored('big-same', [primary.backend], [twin.backend]),
        mirrored('big-diff', [primary.backend], [other.backend]),
      ]),
    );
    await sendAndExpect(g, 'big-same', 2, 200, bigPrimary);
    await sendAndExpect(g, 'big-diff', 2, 200, bigPrimary);
    await eventually(() => shadowOf(g, 'big-same')?.compared === 2 && shadowOf(g, 'big-diff')?.compared === 2, {
      timeoutMs: 5_000,
      message: 'the big pairs to be compared',
    });
    assert.deepEqual(
      [shadowOf(g, 'big-same')!.agreed, shadowOf(g, 'big-same')!.numericElements, shadowOf(g, 'big-same')!.absDiffSum],
      [2, 4 * n, 0],
    );
    const diff = shadowOf(g, 'big-diff')!;
    assert.equal(diff.agreed, 0);
    // 0.123 + 0.5 moves the value across 0.5, so the label differs by 1 too.
    assert.ok(Math.abs(diff.absDiffSum - 2 * 1.5) < 1e-9, String(diff.absDiffSum));
  });
});

describe('bounds and sampling', () => {
  test('copies beyond the in-flight bound are dropped, and mirroring resumes once pairs settle', async () => {
    const primary = await upstream(json(200, PRIMARY_BODY));
    const slow = await upstream(json(200, PRIMARY_BODY));
    slow.upstream.holding = true;
    const g = await newGateway({ mirror: { maxInFlight: 2 } });
    g.setTable(table(1, [mirrored('bounded', [primary.backend], [slow.backend])]));
    await sendAndExpect(g, 'bounded', 6);
    assert.deepEqual([shadowOf(g, 'bounded')!.mirrored, shadowOf(g, 'bounded')!.dropped], [2, 4]);
    await eventually(() => slow.upstream.pending === 2, { timeoutMs: 5_000, message: 'the mirror to hold 2 copies' });
    slow.upstream.release();
    await eventually(() => shadowOf(g, 'bounded')?.compared === 2, { timeoutMs: 5_000, message: '2 compared pairs' });
    await sendAndExpect(g, 'bounded', 1);
    assert.equal(shadowOf(g, 'bounded')!.mirrored, 3);
    const samples = await scrape(g.url);
    assert.equal(
      sampleValue(samples, 'wharf_gateway_shadow_dropped_total', {
        environment: ENV,
        deployment: 'bounded',
        revision: '2',
      }),
      4,
    );
  });

  test('percent samples the requests; GETs, percent 0 and a mirror without replicas send no copies', async () => {
    const primary = await upstream(json(200, PRIMARY_BODY));
    const mirror = await upstream(json(200, PRIMARY_BODY));
    const g = await newGateway();
    g.setTable(
      table(1, [
        mirrored('quarter', [primary.backend], [mirror.backend], { percent: 25 }),
        mirrored('zero', [primary.backend], [mirror.backend], { percent: 0 }),
        mirrored('no-replica', [primary.backend], []),
        // Mirroring a revision onto itself would compare a replica with itself: no copies.
        route(ENV, 'self', [target(1, 100, [primary.backend], 'self')], { mirror: { revision: 1, percent: 100 } }),
      ]),
    );
    await sendAndExpect(g, 'quarter', 400);
    // Binomial(400, 0.25): sd ≈ 8.7; 60–140 is more than 4.5 sd.
    const quarter = shadowOf(g, 'quarter')!.mirrored;
    assert.ok(quarter > 60 && quarter < 140, `${quarter} of 400 mirrored at 25%`);
    for (const deployment of ['zero', 'no-replica']) await sendAndExpect(g, deployment, 5);
    await sendAndExpect(g, 'self', 5);
    const before = shadowOf(g, 'quarter')!.mirrored;
    const res = await http(`${g.url}/${ENV}/quarter/v2/models/quarter`);
    assert.equal(res.status, 200);
    assert.equal(shadowOf(g, 'quarter')!.mirrored, before, 'a GET is not mirrored');
    // Each still has (zero) counters, so a shadow analysis sees "nothing mirrored" rather than nothing.
    for (const deployment of ['zero', 'no-replica']) assert.equal(shadowOf(g, deployment)?.mirrored, 0, deployment);
    assert.equal(shadowOf(g, 'self', 1)?.mirrored, 0);
    assert.equal(mirror.upstream.seen.length, quarter);
  });
});

describe('table swaps', () => {
  test('swaps while copies are in flight: callers succeed, pairs settle, counters carry over, a removed mirror closes', async () => {
    const primary = await upstream(json(200, PRIMARY_BODY));
    const slow = await upstream(json(200, PRIMARY_BODY));
    const fresh = await upstream(json(200, PRIMARY_BODY));
    slow.upstream.holding = true;
    const g = await newGateway();
    const withMirror = (version: number): RouteTable =>
      table(version, [mirrored('swap', [primary.backend], [slow.backend])]);
    g.setTable(withMirror(1));
    await sendAndExpect(g, 'swap', 3);
    g.setTable(withMirror(2));
    await sendAndExpect(g, 'swap', 2);
    await eventually(() => slow.upstream.pending === 5, { timeoutMs: 5_000, message: 'the mirror to hold 5 copies' });
    slow.upstream.release();
    await eventually(() => shadowOf(g, 'swap')?.compared === 5, {
      timeoutMs: 5_000,
      message: '5 compared pairs across the swap',
    });
    assert.equal(shadowOf(g, 'swap')!.agreed, 5);

    // Copies in flight when the mirror leaves the table still settle; then its pool closes.
    slow.upstream.holding = true;
    await sendAndExpect(g, 'swap', 2);
    await eventually(() => slow.upstream.pending === 2, {
      timeoutMs: 5_000,
      message: 'the mirror to hold 2 more copies',
    });
    g.setTable(table(3, [mirrored('swap', [primary.backend], [fresh.backend])]));
    assert.equal(
      slow.upstream.server.openSockets > 0,
      true,
      'the old mirror pool stays open while its copies are in flight',
    );
    await sendAndExpect(g, 'swap', 2);
    slow.upstream.release();
    await eventually(() => slow.upstream.server.openSockets === 0, {
      timeoutMs: 3_000,
      message: 'the old mirror pool to close',
    });
    await eventually(() => shadowOf(g, 'swap')?.compared === 9, { timeoutMs: 5_000, message: 'every pair compared' });
    assert.equal(fresh.upstream.seen.length, 2);
    g.setTable(table(4, [route(ENV, 'swap', [target(1, 100, [primary.backend], 'swap')])]));
    await sendAndExpect(g, 'swap', 2);
    assert.deepEqual(
      g.snapshot().shadows.filter((s) => s.deployment === 'swap'),
      [],
      'no mirror, no shadow counters',
    );
  });
});

describe('metrics', () => {
  test('every shadow family is exported with its labels, equal to the snapshot, and promtool accepts it', async (t) => {
    const primary = await upstream(json(200, PRIMARY_BODY));
    const off = await upstream(json(200, oip([0.3, 0.75])));
    const g = await newGateway();
    g.setTable(table(1, [mirrored('metered', [primary.backend], [off.backend])]));
    await sendAndExpect(g, 'metered', 3);
    await eventually(() => shadowOf(g, 'metered')?.compared === 3, { timeoutMs: 5_000, message: '3 compared pairs' });
    const s = shadowOf(g, 'metered')!;
    const res = await http(`${g.url}/metrics`);
    const samples = await scrape(g.url);
    const labels = { environment: ENV, deployment: 'metered', revision: '2' };
    const expected: [string, number][] = [
      ['mirrored', s.mirrored],
      ['dropped', s.dropped],
      ['compared', s.compared],
      ['agreed', s.agreed],
      ['numeric_elements', s.numericElements],
      ['absolute_difference', s.absDiffSum],
      ['primary_latency_seconds', s.primaryLatencySum],
      ['latency_seconds', s.shadowLatencySum],
      ['primary_errors', s.primaryErrors],
      ['errors', s.shadowErrors],
    ];
    for (const [suffix, value] of expected) {
      const name = `wharf_gateway_shadow_${suffix}_total`;
      assert.match(res.text, new RegExp(`^# TYPE ${name} counter$`, 'm'));
      assert.ok(
        Math.abs(sampleValue(samples, name, labels)! - value) < 1e-9,
        `${name}: ${sampleValue(samples, name, labels)} vs ${value}`,
      );
    }
    assert.ok(Math.abs(s.absDiffSum - 0.15) < 1e-9);
    const check = spawnSync('promtool', ['check', 'metrics'], { input: res.text, encoding: 'utf8' });
    if (check.error) return t.skip(`promtool is not available: ${check.error.message}`);
    assert.equal(check.status, 0, `promtool: ${check.stdout}${check.stderr}`);
    assert.equal(`${check.stdout}${check.stderr}`.trim(), '', 'no lint warnings');
  });
});
