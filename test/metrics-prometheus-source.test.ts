// The Prometheus source against a real Prometheus (Debian's package) scraping a small HTTP server
// whose counters grow by a fixed mix per scrape, so ratios and quantiles are known exactly. Without
// the binary the real-server tests skip with the reason (and fail under CI); the error paths that
// need no Prometheus always run.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { LATENCY_BUCKETS } from '../src/gateway/metrics.js';
import { PrometheusMetricsSource } from '../src/metrics/prometheus-source.js';
import { histogramQuantile } from '../src/metrics/window-math.js';
import { BUILTIN_ANALYSIS_TEMPLATES, newAnalysisRun, resolveAnalysis } from '../src/core/analysis/index.js';
import { advanceAnalysis } from '../src/controller/reconcilers/analysis-step.js';
import { ExpositionServer } from './support/metrics.js';
import { startPrometheus, type TestPrometheus } from './support/prometheus.js';
import { eventually } from './support/eventually.js';

const LABELS = 'environment="production",deployment="risk"';
/** Per scrape the canary answers 90 × 200 in (0.0025, 0.005] and 10 × 500 in (0.05, 0.1]. */
const FAST = 90;
const SLOW = 10;

function exposition(k: number): string {
  const lines = ['# TYPE wharf_gateway_requests_total counter'];
  lines.push(`wharf_gateway_requests_total{${LABELS},revision="4",code="200"} ${FAST * k}`);
  lines.push(`wharf_gateway_requests_total{${LABELS},revision="4",code="500"} ${SLOW * k}`);
  lines.push(`wharf_gateway_requests_total{${LABELS},revision="3",code="200"} ${500 * k}`);
  lines.push('# TYPE wharf_gateway_request_duration_seconds histogram');
  for (const le of [...LATENCY_BUCKETS, Infinity]) {
    const n = le < 0.005 ? 0 : le < 0.1 ? FAST * k : (FAST + SLOW) * k;
    lines.push(
      `wharf_gateway_request_duration_seconds_bucket{${LABELS},revision="4",le="${le === Infinity ? '+Inf' : le}"} ${n}`,
    );
  }
  lines.push(`wharf_gateway_request_duration_seconds_sum{${LABELS},revision="4"} ${(FAST * 0.004 + SLOW * 0.08) * k}`);
  lines.push(`wharf_gateway_request_duration_seconds_count{${LABELS},revision="4"} ${(FAST + SLOW) * k}`);
  // Shadow of revision 4 per scrape: 20 mirrored and compared, 19 agreed, 1 mirror error; 20 numeric
  // elements differing by 0.01 each; primary 10 ms and mirror 30 ms per pair.
  const shadow = (name: string, v: number) => `wharf_gateway_shadow_${name}{${LABELS},revision="4"} ${v * k}`;
  lines.push(
    shadow('mirrored_total', 20),
    shadow('dropped_total', 0),
    shadow('compared_total', 20),
    shadow('agreed_total', 19),
    shadow('numeric_elements_total', 20),
    shadow('absolute_difference_total', 0.2),
    shadow('primary_latency_seconds_total', 0.2),
    shadow('latency_seconds_total', 0.6),
    shadow('primary_errors_total', 0),
    shadow('errors_total', 1),
  );
  return `${lines.join('\n')}\n`;
}

const near = (got: number | undefined, want: number, tolerance: number, what: string) =>
  assert.ok(got !== undefined && Math.abs(got - want) <= tolerance, `${what}: got ${got}, want ${want} ± ${tolerance}`);

describe('with a real Prometheus', () => {
  const target = new ExpositionServer();
  let prometheus: TestPrometheus | undefined;
  let skip: string | undefined;
  let source: PrometheusMetricsSource;

  before(
    async () => {
      target.render = exposition;
      const url = await target.start();
      const started = await startPrometheus([new URL(url).host], '200ms');
      if ('skip' in started) {
        skip = started.skip;
        console.log(`# skipping the real-Prometheus tests: ${skip}`);
        return;
      }
      prometheus = started;
      source = new PrometheusMetricsSource({ url: prometheus.url });
      // Enough scrapes for a 2 s window to hold about ten.
      await eventually(async () => (target.scrapes >= 15 ? true : undefined), {
        timeoutMs: 30_000,
        intervalMs: 100,
        message: 'Prometheus to scrape 15 times',
      });
    },
    { timeout: 11 * 60_000 },
  );

  after(async () => {
    await prometheus?.stop();
    await target.stop();
  });

  test('query(): a scalar, a one-series vector, empty and NaN are undefined', async (t) => {
    if (skip) return t.skip(skip);
    assert.equal(await source.query('scalar(vector(2.5))'), 2.5);
    // up may read 0 for a scrape that timed out on a loaded machine; the series count and the recent maximum may not.
    assert.equal(await source.query('count(up)'), 1);
    assert.equal(await source.query('max_over_time(up{job="gateway"}[10s])'), 1);
    assert.equal(await source.query('vector(1) > 2'), undefined);
    assert.equal(await source.query('up{job="nobody"}'), undefined);
    assert.equal(await source.query('0 / 0'), undefined);
  });

  test('query(): a Prometheus error carries its message; several series are refused', async (t) => {
    if (skip) return t.skip(skip);
    await assert.rejects(
      source.query('sum(rate(up[1m]'),
      (e: Error & { code?: string; errorType?: string }) =>
        e.code === 'PROMETHEUS_QUERY' &&
        e.errorType === 'bad_data' &&
        /parse error/.test(e.message) &&
        e.message.includes('sum(rate(up[1m]'),
    );
    await assert.rejects(
      source.query('wharf_gateway_requests_total'),
      (e: Error & { code?: string }) =>
        e.code === 'PROMETHEUS_QUERY' && /returned 3 series, not one; aggregate it/.test(e.message),
    );
  });

  test('revision(): counts, success rate, rate and quantiles from the gateway names', async (t) => {
    if (skip) return t.skip(skip);
    const m = await source.revision({ environment: 'production', deployment: 'risk', revision: 4, windowMs: 2000 });
    // increase() extrapolates to the window's edges: about ten scrapes' worth.
    assert.ok(m.requests > 300 && m.requests < 1500, `requests ${m.requests}`);
    near(m.errors / m.requests, SLOW / (FAST + SLOW), 0.005, 'error ratio');
    near(m.successRate, FAST / (FAST + SLOW), 0.005, 'success rate');
    // Per second, not per window; loose because a loaded machine delays scrapes.
    near(m.requestRate, (FAST + SLOW) / 0.2, 0.5 * ((FAST + SLOW) / 0.2), 'requests per second');
    assert.equal(m.coveredMs, 2000);
    // The same buckets through the built-in source's arithmetic give Prometheus' own answer.
    const perScrape = [...LATENCY_BUCKETS, Infinity].map((le) => (le < 0.005 ? 0 : le < 0.1 ? FAST : FAST + SLOW));
    for (const [q, got] of [
      [0.5, m.p50],
      [0.95, m.p95],
      [0.99, m.p99],
    ] as const) {
      near(got, histogramQuantile(q, LATENCY_BUCKETS, perScrape)!, 1e-9, `p${q * 100}`);
    }
    near(m.p99, 0.05 + 0.05 * (9 / 10), 1e-9, 'p99 by hand');
  });

  test('revision(): another revision, and one with no traffic', async (t) => {
    if (skip) return t.skip(skip);
    const stable = await source.revision({
      environment: 'production',
      deployment: 'risk',
      revision: 3,
      windowMs: 2000,
    });
    assert.ok(stable.requests > 1500, `requests ${stable.requests}`);
    assert.equal(stable.errors, 0);
    assert.equal(stable.successRate, 1);
    assert.equal(stable.p50, undefined, 'no histogram for revision 3');
    const none = await source.revision({ environment: 'production', deployment: 'risk', revision: 9, windowMs: 2000 });
    assert.deepEqual(none, {
      requests: 0,
      errors: 0,
      successRate: undefined,
      p50: undefined,
      p95: undefined,
      p99: undefined,
      requestRate: 0,
      coveredMs: 2000,
    });
  });

  test('shadow(): agreement, mean absolute difference, latency and error deltas', async (t) => {
    if (skip) return t.skip(skip);
    const m = await source.shadow({ environment: 'production', deployment: 'risk', revision: 4, windowMs: 2000 });
    assert.ok(m.mirrored > 60, `mirrored ${m.mirrored}`);
    assert.equal(m.dropped, 0);
    near(m.agreementRate, 19 / 20, 0.02, 'agreement');
    near(m.meanAbsoluteDifference, 0.01, 0.0005, 'mean absolute difference');
    near(m.latencyDeltaSeconds, 0.02, 0.001, 'latency delta');
    near(m.errorRateDelta, 1 / 20, 0.01, 'error rate delta');
  });

  test('the analysis step measures PromQL and built-in metrics through Prometheus', async (t) => {
    if (skip) return t.skip(skip);
    const target = { environment: 'production', deployment: 'risk', revision: 4 };
    const errorRatio = resolveAnalysis(
      {
        name: 'error-ratio',
        args: [{ name: 'max', value: 0.05 }],
        metrics: [
          {
            name: 'error-ratio',
            successCondition: { max: '{{args.max}}' },
            provider: {
              prometheus: {
                query:
                  'sum(rate(wharf_gateway_requests_total{deployment="{{deployment}}",revision="{{revision}}",code=~"5.."}[2s])) / sum(rate(wharf_gateway_requests_total{deployment="{{deployment}}",revision="{{revision}}"}[2s]))',
              },
            },
          },
        ],
      },
      [],
      target,
    );
    const now = new Date();
    let run = await advanceAnalysis(
      newAnalysisRun(errorRatio, new Date(now.getTime() - 10_000)),
      errorRatio,
      source,
      now,
    );
    assert.equal(run.phase, 'failed');
    assert.match(run.message!, /^error-ratio 0\.1 > max 0\.05 \(revision 4\)$/);
    const builtin = resolveAnalysis(BUILTIN_ANALYSIS_TEMPLATES['success-rate'], [], target);
    run = await advanceAnalysis(newAnalysisRun(builtin, new Date(now.getTime() - 10_000)), builtin, source, now);
    assert.equal(run.phase, 'failed');
    assert.match(run.message!, /^success-rate 0\.\d+ < min 0\.99 \(revision 4, \d+ requests in 5 s\)$/);
    near(run.metrics['success-rate']!.measurements[0]!.value, 0.9, 0.005, 'measured success rate');
  });
});

describe('without a Prometheus', () => {
  const silent = new ExpositionServer();
  let url: string;
  before(async () => {
    url = await silent.start();
  });
  after(() => silent.stop());

  test('a Prometheus that does not answer in time is UNAVAILABLE', async () => {
    silent.hang = true;
    try {
      const source = new PrometheusMetricsSource({ url, timeoutMs: 200 });
      await assert.rejects(
        source.query('up'),
        (e: Error & { code?: string }) => e.code === 'UNAVAILABLE' && /no answer within 200 ms/.test(e.message),
      );
    } finally {
      silent.hang = false;
    }
  });

  test('something that is not Prometheus is UNAVAILABLE with what it said', async () => {
    silent.text = 'hello';
    const source = new PrometheusMetricsSource({ url });
    await assert.rejects(
      source.query('up'),
      (e: Error & { code?: string }) => e.code === 'UNAVAILABLE' && /not JSON: hello/.test(e.message),
    );
  });

  test('nothing listening is UNAVAILABLE', async () => {
    const source = new PrometheusMetricsSource({ url: 'http://127.0.0.1:1' });
    await assert.rejects(
      source.query('up'),
      (e: Error & { code?: string }) => e.code === 'UNAVAILABLE' && /ECONNREFUSED/.test(e.message),
    );
  });
});
