/**
 * The I/O half of an analysis run: take the measurements that are due from a metrics source,
 * judge them, and return the new run state. Failures to measure (Prometheus down, a bad query, no
 * Prometheus configured) are recorded as `error` measurements with the reason, never thrown: the
 * run's rules decide what repeated errors mean, and the reconciler writes the result on the status.
 */
import {
  type AnalysisRunState,
  dueMetrics,
  evaluate,
  type Measurement,
  measurementWindowMs,
  recordMeasurement,
  type ResolvedAnalysis,
  type ResolvedMetric,
} from '../../core/analysis/index.js';
import type { BuiltinMetricName } from '../../core/analysis/template.js';
import type { Refreshable } from '../../metrics/builtin-source.js';
import type { MetricsSource, RevisionMetrics } from '../../metrics/metrics-source.js';

/**
 * Measures every metric of `resolved` that is due at `now` and records the results on `run`
 * (returns a new state; `run` is unchanged). A source that can sample on demand (the built-in
 * one) is sampled first, so the decision uses traffic up to this moment, and its windows are
 * clipped to the run (see `measurementWindowMs`); other sources get the metric's full window.
 *
 * @example
 *   run = await advanceAnalysis(run, resolved, source, new Date());
 *   if (run.phase === 'failed') { ... abort the rollout with run.message ... }
 */
export async function advanceAnalysis(
  run: AnalysisRunState,
  resolved: ResolvedAnalysis,
  source: MetricsSource,
  now: Date,
): Promise<AnalysisRunState> {
  const due = dueMetrics(run, resolved, now);
  if (due.length === 0) return run;
  const refreshable = isRefreshable(source);
  // A failed refresh only means older data: each gateway's own failure is the source's to report.
  if (refreshable && due.some((m) => m.provider.kind === 'builtin')) await source.sampleNow().catch(() => undefined);
  const measured = await Promise.all(due.map((m) => measure(run, resolved, m, source, now, refreshable)));
  let next = run;
  due.forEach((m, i) => {
    next = recordMeasurement(next, resolved, m.name, measured[i]!);
  });
  return next;
}

async function measure(
  run: AnalysisRunState,
  resolved: ResolvedAnalysis,
  metric: ResolvedMetric,
  source: MetricsSource,
  now: Date,
  clipToRun: boolean,
): Promise<Measurement> {
  const at = now.toISOString();
  const { revision } = resolved.target;
  try {
    if (metric.provider.kind === 'prometheus') {
      if (source.query === undefined)
        return {
          at,
          phase: 'error',
          message: `${metric.name}: no Prometheus configured (the ${source.name} metrics source cannot run PromQL)`,
        };
      return { at, ...evaluate(metric, await source.query(metric.provider.query), { revision }) };
    }
    const windowMs = measurementWindowMs(run, metric, now, clipToRun);
    const m = await source.revision({ ...resolved.target, windowMs });
    return {
      at,
      ...evaluate(metric, pick(m, metric.provider.metric), { revision, requests: m.requests, windowMs: m.coveredMs }),
    };
  } catch (error) {
    return { at, phase: 'error', message: `${metric.name}: ${(error as Error).message}` };
  }
}

/** The figure a built-in metric reads from a revision's window. */
function pick(m: RevisionMetrics, metric: BuiltinMetricName): number | undefined {
  switch (metric) {
    case 'success-rate':
      return m.successRate;
    case 'error-rate':
      return m.requests > 0 ? m.errors / m.requests : undefined;
    case 'latency-p50':
      return m.p50;
    case 'latency-p95':
      return m.p95;
    case 'latency-p99':
      return m.p99;
    case 'request-count':
      return m.requests;
    case 'request-rate':
      return m.requestRate;
  }
}

function isRefreshable(source: MetricsSource): source is MetricsSource & Refreshable {
  return typeof (source as Partial<Refreshable>).sampleNow === 'function';
}
