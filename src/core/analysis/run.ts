/**
 * An analysis run as plain JSON on the deployment status, and the pure rules that turn
 * measurements into a verdict. No I/O and no clock: callers pass `now`.
 *
 * Per metric, checked in this order after every measurement:
 * 1. failed when its failed measurements exceed `failureLimit`;
 * 2. error after {@link CONSECUTIVE_ERROR_LIMIT} consecutive measurement errors (a query that
 *    could not be answered; errors are not measurements, so they do not count toward `count`);
 * 3. inconclusive when its inconclusive measurements exceed `inconclusiveLimit`;
 * 4. done when `count` measurements were taken: successful, or inconclusive if none succeeded;
 * 5. otherwise still running.
 * An inconclusive metric then follows `onInconclusive`: `pause` keeps it inconclusive, `fail`
 * makes it failed, `pass` makes it successful.
 *
 * The run is failed if any metric failed, else error if any errored, else inconclusive if any is,
 * else successful once every metric is, else running. Every phase but running is final: the run
 * takes no more measurements, and the rollout engine acts on it (abort, pause, proceed).
 *
 * Measurements start one interval after the run starts (the revision has had no traffic to speak
 * of before that). On a source with fine-grained history (the built-in one) the window never
 * reaches back before the run's start, so a retried rollout is judged on fresh traffic only.
 */
import type { ResolvedAnalysis, ResolvedMetric } from './resolve.js';

/** Measurements kept per metric (counters keep the totals); keeps the stored status small. */
export const MAX_KEPT_MEASUREMENTS = 10;

/** Consecutive measurement errors after which a metric is in error. */
export const CONSECUTIVE_ERROR_LIMIT = 3;

/** The outcome of one measurement. */
export type MeasurementPhase = 'successful' | 'failed' | 'inconclusive' | 'error';

/** Phases of a run (and of each metric within it). */
export type AnalysisPhase = 'running' | 'successful' | 'failed' | 'inconclusive' | 'error';

/** One measurement. */
export interface Measurement {
  /** ISO time. */
  at: string;
  value?: number;
  phase: MeasurementPhase;
  message?: string;
}

/** One metric's progress: the latest measurements and running totals. */
export interface MetricRunState {
  /** The last {@link MAX_KEPT_MEASUREMENTS}, oldest first. */
  measurements: Measurement[];
  /** Measurements taken, errors included. */
  count: number;
  successful: number;
  failed: number;
  inconclusive: number;
  errors: number;
}

/** A run, as stored on the deployment status. */
export interface AnalysisRunState {
  template: string;
  /** ISO time. */
  startedAt: string;
  phase: AnalysisPhase;
  /** Why the run ended (or what it last saw): which metric, its value and the condition. */
  message?: string;
  metrics: Record<string, MetricRunState>;
}

/** Extra facts for a measurement's message. */
export interface MeasurementContext {
  readonly revision?: number;
  /** Requests in the window (built-in metrics); checked against `minSamples`. */
  readonly requests?: number;
  /** The window actually covered. */
  readonly windowMs?: number;
}

/** A fresh run of `resolved`, started at `now`. */
export function newAnalysisRun(resolved: ResolvedAnalysis, now: Date): AnalysisRunState {
  return {
    template: resolved.template,
    startedAt: now.toISOString(),
    phase: 'running',
    metrics: Object.fromEntries(resolved.metrics.map((m) => [m.name, emptyMetric()])),
  };
}

/** The metrics to measure at `now`: still running and at least one interval since their last measurement (or the start). */
export function dueMetrics(run: AnalysisRunState, resolved: ResolvedAnalysis, now: Date): ResolvedMetric[] {
  if (run.phase !== 'running') return [];
  return resolved.metrics.filter((m) => {
    const due = nextAt(run, m);
    return due !== undefined && now.getTime() >= due;
  });
}

/** When the next measurement falls due (for the reconciler's requeue); undefined when the run is over. */
export function nextMeasurementAt(run: AnalysisRunState, resolved: ResolvedAnalysis): Date | undefined {
  if (run.phase !== 'running') return undefined;
  const times = resolved.metrics.map((m) => nextAt(run, m)).filter((t): t is number => t !== undefined);
  return times.length === 0 ? undefined : new Date(Math.min(...times));
}

/**
 * The trailing window, in ms, for a built-in metric measured at `now`: its windowSeconds, and with
 * `clipToRun` never reaching back before the run started. Clip only on sources with fine-grained
 * history: Prometheus scrapes every 15 s or so, and a window of a few seconds there is empty.
 */
export function measurementWindowMs(
  run: AnalysisRunState,
  metric: ResolvedMetric,
  now: Date,
  clipToRun = true,
): number {
  const window = metric.provider.kind === 'builtin' ? metric.provider.windowSeconds * 1000 : 0;
  return clipToRun ? Math.max(0, Math.min(window, now.getTime() - Date.parse(run.startedAt))) : window;
}

/**
 * Judges one value: inconclusive with no value (or too few requests for a built-in metric),
 * failed outside the success condition, successful within it. The message names the metric, the
 * value and the condition, e.g. `success-rate 0.62 < min 0.99 (revision 4, 57 requests in 5 s)`.
 */
export function evaluate(
  metric: ResolvedMetric,
  value: number | undefined,
  samples: MeasurementContext = {},
): Omit<Measurement, 'at'> {
  const facts = [
    ...(samples.revision === undefined ? [] : [`revision ${samples.revision}`]),
    ...(samples.requests === undefined
      ? []
      : [
          `${samples.requests} request${samples.requests === 1 ? '' : 's'}${samples.windowMs === undefined ? '' : ` in ${seconds(samples.windowMs)} s`}`,
        ]),
  ];
  const context = facts.length === 0 ? '' : ` (${facts.join(', ')})`;
  if (metric.minSamples > 0 && samples.requests !== undefined && samples.requests < metric.minSamples) {
    return {
      ...withValue(value),
      phase: 'inconclusive',
      message: `${metric.name}: too few requests, ${samples.requests} < minSamples ${metric.minSamples}${context}`,
    };
  }
  if (value === undefined || Number.isNaN(value))
    return { phase: 'inconclusive', message: `${metric.name}: no data${context}` };
  const v = `${metric.name} ${num(value)}`;
  if (metric.min !== undefined && value < metric.min)
    return { value, phase: 'failed', message: `${v} < min ${num(metric.min)}${context}` };
  if (metric.max !== undefined && value > metric.max)
    return { value, phase: 'failed', message: `${v} > max ${num(metric.max)}${context}` };
  const within =
    metric.min !== undefined && metric.max !== undefined
      ? `within [${num(metric.min)}, ${num(metric.max)}]`
      : metric.min !== undefined
        ? `>= min ${num(metric.min)}`
        : `<= max ${num(metric.max!)}`;
  return { value, phase: 'successful', message: `${v} ${within}${context}` };
}

/**
 * The run with `measurement` of metric `name` recorded and its phase recomputed (a new object;
 * `run` is unchanged). A run that is already over is returned as it is.
 */
export function recordMeasurement(
  run: AnalysisRunState,
  resolved: ResolvedAnalysis,
  name: string,
  measurement: Measurement,
): AnalysisRunState {
  if (run.phase !== 'running') return run;
  if (!resolved.metrics.some((m) => m.name === name))
    throw new Error(`analysis ${resolved.template} has no metric '${name}'`);
  const before = run.metrics[name] ?? emptyMetric();
  const counter = (
    { successful: 'successful', failed: 'failed', inconclusive: 'inconclusive', error: 'errors' } as const
  )[measurement.phase];
  const after: MetricRunState = {
    ...before,
    measurements: [...before.measurements, { ...measurement }].slice(-MAX_KEPT_MEASUREMENTS),
    count: before.count + 1,
    [counter]: before[counter] + 1,
  };
  const next: AnalysisRunState = { ...run, metrics: { ...run.metrics, [name]: after } };
  const verdict = runPhase(next, resolved);
  next.phase = verdict.phase;
  if (verdict.message !== undefined) next.message = verdict.message;
  else if (measurement.message !== undefined) next.message = measurement.message;
  return next;
}

/** A metric's phase under the module's rules, with the reason when it is decided. */
export function metricPhase(
  state: MetricRunState | undefined,
  metric: ResolvedMetric,
): { phase: AnalysisPhase; message?: string } {
  const s = state ?? emptyMetric();
  const last = (phase: MeasurementPhase) =>
    [...s.measurements].reverse().find((m) => m.phase === phase)?.message ?? phase;
  if (s.failed > metric.failureLimit) {
    const message =
      metric.failureLimit === 0
        ? last('failed')
        : `${metric.name}: ${s.failed} failed measurements > failureLimit ${metric.failureLimit}; last: ${last('failed')}`;
    return { phase: 'failed', message };
  }
  const tail = s.measurements.slice(-CONSECUTIVE_ERROR_LIMIT);
  if (tail.length === CONSECUTIVE_ERROR_LIMIT && tail.every((m) => m.phase === 'error')) {
    return {
      phase: 'error',
      message: `${metric.name}: ${CONSECUTIVE_ERROR_LIMIT} measurement errors in a row; last: ${last('error')}`,
    };
  }
  let inconclusive: string | undefined;
  if (s.inconclusive > metric.inconclusiveLimit) {
    inconclusive = `${metric.name}: ${s.inconclusive} inconclusive measurements > inconclusiveLimit ${metric.inconclusiveLimit}; last: ${last('inconclusive')}`;
  } else if (s.successful + s.failed + s.inconclusive >= metric.count) {
    if (s.successful > 0)
      return {
        phase: 'successful',
        message: `${metric.name}: ${s.successful}/${s.successful + s.failed + s.inconclusive} measurements successful`,
      };
    inconclusive = `${metric.name}: no successful measurement in ${metric.count}; last: ${last('inconclusive')}`;
  }
  if (inconclusive === undefined) return { phase: 'running' };
  if (metric.onInconclusive === 'fail') return { phase: 'failed', message: `${inconclusive} (onInconclusive: fail)` };
  if (metric.onInconclusive === 'pass')
    return { phase: 'successful', message: `${inconclusive} (onInconclusive: pass)` };
  return { phase: 'inconclusive', message: inconclusive };
}

/** The run's phase from its metrics' phases; a message when the run is decided. */
function runPhase(run: AnalysisRunState, resolved: ResolvedAnalysis): { phase: AnalysisPhase; message?: string } {
  const phases = resolved.metrics.map((m) => metricPhase(run.metrics[m.name], m));
  for (const phase of ['failed', 'error', 'inconclusive'] as const) {
    const hit = phases.find((p) => p.phase === phase);
    if (hit) return hit;
  }
  if (phases.every((p) => p.phase === 'successful'))
    return { phase: 'successful', message: `every metric passed: ${phases.map((p) => p.message).join('; ')}` };
  return { phase: 'running' };
}

function nextAt(run: AnalysisRunState, metric: ResolvedMetric): number | undefined {
  if (metricPhase(run.metrics[metric.name], metric).phase !== 'running') return undefined;
  const last = run.metrics[metric.name]?.measurements.at(-1)?.at ?? run.startedAt;
  return Date.parse(last) + metric.intervalSeconds * 1000;
}

function emptyMetric(): MetricRunState {
  return { measurements: [], count: 0, successful: 0, failed: 0, inconclusive: 0, errors: 0 };
}

function withValue(value: number | undefined): { value?: number } {
  return value === undefined || Number.isNaN(value) ? {} : { value };
}

/** A value for people: at most four significant digits, no trailing zeros. */
function num(v: number): string {
  return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(4)));
}

function seconds(ms: number): string {
  return String(Number((ms / 1000).toPrecision(3)));
}
