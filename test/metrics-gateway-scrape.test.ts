// Scraping a gateway in another process: the exposition parser, and snapshots rebuilt from the text
// that the real GatewayMetrics class renders, served over HTTP on port 0.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createServer } from 'node:net';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { GatewayMetrics, LATENCY_BUCKETS } from '../src/gateway/metrics.js';
import { BuiltinMetricsSource } from '../src/metrics/builtin-source.js';
import { parseExposition } from '../src/metrics/exposition-parser.js';
import { scrapeGatewaySnapshot } from '../src/metrics/gateway-scrape.js';
import { ExpositionServer } from './support/metrics.js';

describe('parseExposition', () => {
  test('names, labels with escapes and any characters, special values, timestamps, comments', () => {
    const text = [
      '# HELP x_total A counter.',
      '# TYPE x_total counter',
      'x_total{a="1",b="with, comma {and} braces",c="quote \\" backslash \\\\ newline \\n end"} 42',
      'y 1.5e-3 1700000000000',
      'z{ a = "x" , } +Inf',
      'n NaN',
      'n2 Nan',
      'm -Inf',
      '',
    ].join('\n');
    const samples = parseExposition(text);
    assert.deepEqual(samples[0], {
      name: 'x_total',
      labels: { a: '1', b: 'with, comma {and} braces', c: 'quote " backslash \\ newline \n end' },
      value: 42,
    });
    assert.deepEqual(samples[1], { name: 'y', labels: {}, value: 0.0015 });
    assert.deepEqual(samples[2], { name: 'z', labels: { a: 'x' }, value: Infinity });
    assert.ok(Number.isNaN(samples[3]!.value));
    assert.ok(Number.isNaN(samples[4]!.value), 'prom-client writes Nan');
    assert.equal(samples[5]!.value, -Infinity);
    assert.equal(samples.length, 6);
  });

  const bad: [string, RegExp][] = [
    ['x{a="1"', /^exposition line 1: (expected|unterminated)/],
    ['x{a=1} 2', /^exposition line 1: expected '="' after label a/],
    ['x{a="1"} abc', /^exposition line 1: not a number: abc/],
    ['ok 1\nx{a="\\q"} 1', /^exposition line 2: unknown escape \\q/],
    ['x 1 2 3', /^exposition line 1: expected a value and an optional timestamp/],
    ['9x 1', /^exposition line 1: expected a metric name/],
  ];
  for (const [text, message] of bad) {
    test(`refuses ${JSON.stringify(text)}`, () => {
      assert.throws(
        () => parseExposition(text),
        (e: Error & { code?: string }) => e.code === 'INVALID_ARGUMENT' && message.test(e.message),
      );
    });
  }
});

describe('scrapeGatewaySnapshot', () => {
  const metrics = new GatewayMetrics();
  const server = new ExpositionServer();
  let url: string;

  before(async () => {
    url = await server.start();
    const scope = metrics.beginTable();
    const canary = scope.target('production', 'risk', 4);
    const stable = scope.target('production', 'risk', 3);
    scope.target('staging', 'risk', 1); // in the table, no traffic yet
    const risk = scope.route('production', 'risk');
    scope.route('staging', 'risk'); // a route without traffic: not in the snapshot
    scope.commit(7);
    Object.assign(risk, { arrivals: 75, inFlight: 2, held: 3, heldTotal: 9, holdRejected: 1 });
    for (let i = 0; i < 57; i++) canary.observe(200, 0.004);
    for (let i = 0; i < 3; i++) canary.observe(503, 0.0003);
    canary.observe(500, 1.7);
    for (let i = 0; i < 10; i++) stable.observe(200, 12); // beyond the last bucket
    stable.observe(404, 0.002);
    metrics.unroutedRequest(404);
    // GatewayMetrics renders no shadow families yet; append them as the gateway will name them.
    const shadow = (name: string, v: number) =>
      `wharf_gateway_shadow_${name}{environment="production",deployment="risk",revision="4"} ${v}`;
    server.text = `${(await metrics.render()).body}${[
      '# TYPE wharf_gateway_shadow_mirrored_total counter',
      shadow('mirrored_total', 40),
      shadow('dropped_total', 2),
      shadow('compared_total', 37),
      shadow('agreed_total', 35),
      shadow('numeric_elements_total', 37),
      shadow('absolute_difference_total', 0.5),
      shadow('primary_latency_seconds_total', 0.11),
      shadow('latency_seconds_total', 0.3),
      shadow('primary_errors_total', 1),
      shadow('errors_total', 3),
    ].join('\n')}\n`;
  });
  after(() => server.stop());

  test('rebuilds the per-revision counters the gateway rendered', async () => {
    const snap = await scrapeGatewaySnapshot(url, { clock: () => 123 });
    assert.equal(snap.time, 123);
    assert.deepEqual(snap.latencyBuckets, LATENCY_BUCKETS);
    const find = (env: string, rev: string) =>
      snap.revisions.find((r) => r.environment === env && r.deployment === 'risk' && r.revision === rev);
    const canary = find('production', '4')!;
    assert.deepEqual(canary.codes, { 200: 57, 500: 1, 503: 3 });
    assert.equal(canary.count, 61);
    // Cumulative: 3 at ≤ 0.0005, +57 at ≤ 0.005, +1 at ≤ 2.5.
    const at = (le: number) => canary.buckets[LATENCY_BUCKETS.indexOf(le)];
    assert.equal(at(0.00025), 0);
    assert.equal(at(0.0005), 3);
    assert.equal(at(0.0025), 3);
    assert.equal(at(0.005), 60);
    assert.equal(at(1), 60);
    assert.equal(at(2.5), 61);
    assert.equal(canary.buckets[LATENCY_BUCKETS.length], 61);
    assert.ok(Math.abs(canary.latencySum - (57 * 0.004 + 3 * 0.0003 + 1.7)) < 1e-9);
    const stable = find('production', '3')!;
    assert.deepEqual(stable.codes, { 200: 10, 404: 1 });
    assert.equal(stable.buckets[LATENCY_BUCKETS.length - 1], 1, 'the 12 s responses are only in +Inf');
    assert.equal(stable.buckets[LATENCY_BUCKETS.length], 11);
    const idle = find('staging', '1')!;
    assert.deepEqual(idle.codes, {});
    assert.equal(idle.count, 0);
    assert.equal(snap.revisions.length, 3, 'unrouted requests and other families are not revisions');
  });

  test('reads the shadow counters by field', async () => {
    const snap = await scrapeGatewaySnapshot(url);
    assert.deepEqual(snap.shadows, [
      {
        environment: 'production',
        deployment: 'risk',
        revision: 4,
        mirrored: 40,
        dropped: 2,
        compared: 37,
        agreed: 35,
        numericElements: 37,
        absDiffSum: 0.5,
        primaryLatencySum: 0.11,
        shadowLatencySum: 0.3,
        primaryErrors: 1,
        shadowErrors: 3,
      },
    ]);
  });

  test('reads the per-route gauges and counters of routes that have had traffic', async () => {
    const snap = await scrapeGatewaySnapshot(url);
    assert.deepEqual(snap.routes, [
      {
        environment: 'production',
        deployment: 'risk',
        inFlight: 2,
        held: 3,
        heldTotal: 9,
        holdRejected: 1,
        arrivals: 75,
      },
    ]);
    assert.equal(snap.ejections, undefined, 'events are not in the exposition');
  });

  test('feeds the built-in source: windowed figures across scrapes', async () => {
    let now = 5_000_000;
    const source = new BuiltinMetricsSource({ providers: [() => scrapeGatewaySnapshot(url)], clock: () => now });
    await source.sampleNow();
    const before = server.text;
    try {
      const scope = metrics.beginTable();
      const canary = scope.target('production', 'risk', 4);
      scope.commit(8);
      for (let i = 0; i < 19; i++) canary.observe(200, 0.004);
      canary.observe(502, 0.0004);
      server.text = (await metrics.render()).body;
      now += 2000;
      await source.sampleNow();
      const m = await source.revision({ environment: 'production', deployment: 'risk', revision: 4, windowMs: 5000 });
      assert.equal(m.requests, 20);
      assert.equal(m.errors, 1);
      assert.equal(m.successRate, 0.95);
      assert.equal(m.requestRate, 10);
      assert.ok(m.p50! > 0.0025 && m.p50! <= 0.005, `p50 ${m.p50}`);
    } finally {
      server.text = before;
    }
  });

  test('a gateway that answers non-200, hangs, or is not there is UNAVAILABLE with the reason', async () => {
    server.status = 503;
    await assert.rejects(
      scrapeGatewaySnapshot(url),
      (e: Error & { code?: string }) => e.code === 'UNAVAILABLE' && /answered 503/.test(e.message),
    );
    server.status = 200;
    server.hang = true;
    try {
      await assert.rejects(
        scrapeGatewaySnapshot(url, { timeoutMs: 200 }),
        (e: Error & { code?: string }) => e.code === 'UNAVAILABLE' && /no answer within 200 ms/.test(e.message),
      );
    } finally {
      server.hang = false;
    }
    const closed = createServer();
    closed.listen(0, '127.0.0.1');
    await once(closed, 'listening');
    const port = (closed.address() as AddressInfo).port;
    closed.close();
    await once(closed, 'close');
    await assert.rejects(
      scrapeGatewaySnapshot(`http://127.0.0.1:${port}`),
      (e: Error & { code?: string }) => e.code === 'UNAVAILABLE' && /ECONNREFUSED/.test(e.message),
    );
  });
});
