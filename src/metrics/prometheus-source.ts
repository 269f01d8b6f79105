/**
 * The Prometheus metrics source: instant PromQL queries against `<url>/api/v1/query`, and the
 * interface's revision and shadow figures as PromQL over the gateway's metric names. Windows are
 * whole seconds (PromQL range selectors), and Prometheus extrapolates `increase()` to the window's
 * edges, so request counts are rounded to whole responses. A window should span at least two
 * scrape intervals, or `rate()` has too few points and the figures come back empty.
 *
 * @example
 *   const prom = new PrometheusMetricsSource({ url: 'http://127.0.0.1:9090' });
 *   await prom.query('sum(rate(wharf_gateway_requests_total{deployment="risk"}[1m]))'); // e.g. 41.5
 */
import { request } from 'undici';
import { UnavailableError, WharfError } from '../core/errors.js';
import { REQUEST_DURATION, REQUESTS_TOTAL, SHADOW_METRIC_NAMES } from '../protocol/metric-names.js';
import type { MetricsSource, RevisionMetrics, RevisionWindow, ShadowMetrics } from './metrics-source.js';
import { type ShadowIncrease, SHADOW_FIELDS, shadowMetrics } from './window-math.js';

/** Settings of a {@link PrometheusMetricsSource}. */
export interface PrometheusSourceOptions {
  /** Base URL of the Prometheus server, e.g. `http://prometheus:9090`. */
  url: string;
  /** Time for one query, connect to last byte; default 5000 ms. */
  timeoutMs?: number;
  /** Extra request headers, e.g. `{ authorization: 'Bearer …' }`. */
  headers?: Record<string, string>;
}

/** Prometheus answered a query with an error (bad PromQL, a query it cannot run, …). */
export class PrometheusQueryError extends WharfError {
  readonly code = 'PROMETHEUS_QUERY';
  constructor(
    message: string,
    /** Prometheus' `errorType`, e.g. `bad_data`, `timeout`, `execution`. */
    readonly errorType: string,
  ) {
    super(message);
  }
}

interface QueryResponse {
  status?: string;
  errorType?: string;
  error?: string;
  data?: { resultType?: string; result?: unknown };
}

/** See the module comment. */
export class PrometheusMetricsSource implements MetricsSource {
  readonly name = 'prometheus';
  private readonly base: string;
  private readonly timeoutMs: number;
  private readonly headers: Record<string, string>;

  constructor(options: PrometheusSourceOptions) {
    this.base = options.url.replace(/\/+$/, '');
    this.timeoutMs = options.timeoutMs ?? 5000;
    this.headers = options.headers ?? {};
  }

  /**
   * Evaluates an instant query to one number: a scalar, or a vector of exactly one series. An
   * empty vector (and NaN, e.g. a ratio over no requests) is undefined: no data. Several series
   * are an error, since the analysis could not tell which to compare. Throws a
   * {@link PrometheusQueryError} with Prometheus' message when the query fails there, and an
   * {@link UnavailableError} when Prometheus cannot be reached or does not answer in time.
   */
  async query(promql: string): Promise<number | undefined> {
    const url = `${this.base}/api/v1/query?query=${encodeURIComponent(promql)}`;
    let status: number;
    let text: string;
    try {
      const res = await request(url, {
        headers: this.headers,
        signal: AbortSignal.timeout(this.timeoutMs),
        headersTimeout: this.timeoutMs,
        bodyTimeout: this.timeoutMs,
      });
      status = res.statusCode;
      text = await res.body.text();
    } catch (error) {
      const e = error as Error & { code?: string };
      const why = e.name === 'TimeoutError' ? `no answer within ${this.timeoutMs} ms` : (e.code ?? e.message);
      throw new UnavailableError(`Prometheus at ${this.base}: ${why}`, { cause: error });
    }
    let body: QueryResponse;
    try {
      body = JSON.parse(text) as QueryResponse;
    } catch {
      throw new UnavailableError(
        `Prometheus at ${this.base}: answered ${status} with a body that is not JSON: ${text.slice(0, 200)}`,
      );
    }
    if (body.status !== 'success') {
      throw new PrometheusQueryError(
        `Prometheus: ${body.error ?? `answered ${status}`} (query: ${promql})`,
        body.errorType ?? 'unknown',
      );
    }
    return valueOf(body.data, promql);
  }

  /** A revision's figures over the window, from six PromQL queries run in parallel. */
  async revision(w: RevisionWindow): Promise<RevisionMetrics> {
    const sel = selector(w);
    const range = `[${windowSeconds(w.windowMs)}s]`;
    const quantile = (q: number) =>
      this.query(`histogram_quantile(${q}, sum by (le) (rate(${REQUEST_DURATION}_bucket{${sel}}${range})))`);
    const [requests, errors, requestRate, p50, p95, p99] = await Promise.all([
      this.query(`sum(increase(${REQUESTS_TOTAL}{${sel}}${range}))`),
      this.query(`sum(increase(${REQUESTS_TOTAL}{${sel},code=~"5.."}${range}))`),
      this.query(`sum(rate(${REQUESTS_TOTAL}{${sel}}${range}))`),
      quantile(0.5),
      quantile(0.95),
      quantile(0.99),
    ]);
    const n = Math.round(requests ?? 0);
    // The error count is rounded on its own; it can never exceed the request count.
    const e = Math.min(n, Math.round(errors ?? 0));
    return {
      requests: n,
      errors: e,
      successRate: n > 0 ? (n - e) / n : undefined,
      p50,
      p95,
      p99,
      requestRate: requestRate ?? 0,
      coveredMs: windowSeconds(w.windowMs) * 1000,
    };
  }

  /** A mirrored revision's shadow comparison over the window, from the increases of its counters. */
  async shadow(w: RevisionWindow): Promise<ShadowMetrics> {
    const sel = selector(w);
    const range = `[${windowSeconds(w.windowMs)}s]`;
    const values = await Promise.all(
      SHADOW_FIELDS.map((f) => this.query(`sum(increase(${SHADOW_METRIC_NAMES[f]}{${sel}}${range}))`)),
    );
    const increase = Object.fromEntries(SHADOW_FIELDS.map((f, i) => [f, values[i] ?? 0])) as ShadowIncrease;
    for (const f of [
      'mirrored',
      'dropped',
      'compared',
      'agreed',
      'numericElements',
      'primaryErrors',
      'shadowErrors',
    ] as const) {
      increase[f] = Math.round(increase[f]);
    }
    return shadowMetrics(increase);
  }
}

/** PromQL windows are whole seconds; at least 1. */
function windowSeconds(ms: number): number {
  return Math.max(1, Math.round(ms / 1000));
}

/** The label matchers of one revision, values escaped for a PromQL string. */
function selector(w: RevisionWindow): string {
  const q = (s: string) => JSON.stringify(s);
  return `environment=${q(w.environment)},deployment=${q(w.deployment)},revision=${q(String(w.revision))}`;
}

function valueOf(data: QueryResponse['data'], promql: string): number | undefined {
  const number = (v: unknown): number | undefined => {
    const x = Array.isArray(v) ? Number(v[1]) : NaN;
    return Number.isNaN(x) ? undefined : x;
  };
  if (data?.resultType === 'scalar') return number(data.result);
  if (data?.resultType === 'vector' && Array.isArray(data.result)) {
    const series = data.result as { metric?: Record<string, string>; value?: unknown }[];
    if (series.length === 0) return undefined;
    if (series.length > 1) {
      throw new PrometheusQueryError(
        `Prometheus: the query returned ${series.length} series, not one; aggregate it (e.g. sum(...)) (query: ${promql})`,
        'many_series',
      );
    }
    return number(series[0]!.value);
  }
  throw new PrometheusQueryError(
    `Prometheus: the query returned a ${data?.resultType ?? 'missing'} result, not a number (query: ${promql})`,
    'result_type',
  );
}
