/**
 * The rules of `configuration.scaling` and its defaults. Pure: no I/O, no clock.
 *
 * A spec with `min == max` is a fixed size; anything else is autoscaled on one metric against a
 * per-replica target (Knative KPA's model: a stable window for normal decisions, a short panic
 * window for bursts, scale to zero after an idle timeout), with HPA-style scale-down
 * stabilization, KEDA-style cron schedules that change the bounds, and an optional forecast.
 *
 * @example
 *   validateScaling({ min: 0, max: 10, targetCPU: 80, targetMemory: 80, metric: 'rps', target: 40,
 *     schedules: [{ name: 'business-hours', start: '0 8 * * 1-5', end: '0 18 * * 1-5', timezone: 'Europe/Berlin', min: 2 }] });
 *   resolveScaling(spec).stableWindow; // 60
 */
import { validCron, validTimezone } from '../cron-spec.js';
import type { PredictiveScaling, QueueScaling, ScalingMetric, ScalingSchedule, ScalingSpec } from '../resources.js';
import { allowOnly, array, dnsLabel, fail, integer, numberIn, object, text } from '../validation.js';
import { validateQueue } from './queue-spec.js';

/** Most replicas one deployment may ask for (the same bound as `configuration.replicas`). */
const MAX_REPLICAS = 100;

/** The metrics a deployment can scale on. */
export const SCALING_METRICS: readonly ScalingMetric[] = ['concurrency', 'rps', 'cpu', 'memory', 'custom', 'queue'];

/** Keys allowed in `configuration.scaling`. */
export const SCALING_FIELDS: readonly string[] = [
  'min',
  'max',
  'targetCPU',
  'targetMemory',
  'metric',
  'target',
  'custom',
  'queue',
  'stableWindow',
  'panicWindow',
  'panicThreshold',
  'scaleDownDelay',
  'idleTimeout',
  'hold',
  'schedules',
  'predictive',
];
/** Keys allowed in `configuration.scaling.custom`. */
export const CUSTOM_METRIC_FIELDS: readonly string[] = ['query', 'target'];
/** Keys allowed in `configuration.scaling.hold`. */
export const HOLD_FIELDS: readonly string[] = ['queue', 'timeout'];
/** Keys allowed in each of `configuration.scaling.schedules[]`. */
export const SCHEDULE_FIELDS: readonly string[] = ['name', 'start', 'end', 'timezone', 'min', 'max'];
/** Keys allowed in `configuration.scaling.predictive`. */
export const PREDICTIVE_FIELDS: readonly string[] = ['enabled', 'bucket', 'season', 'horizon'];

/** Most schedules one deployment may have. */
export const MAX_SCHEDULES = 20;

/** Defaults of the optional scaling fields (seconds unless said otherwise). */
export const SCALING_DEFAULTS = {
  metric: 'concurrency',
  /** Per-replica targets of the request metrics; cpu / memory use `targetCPU` / `targetMemory`. */
  target: { concurrency: 10, rps: 50 },
  stableWindow: 60,
  panicWindow: 3,
  /** A multiple of the ready replicas. */
  panicThreshold: 2,
  scaleDownDelay: 300,
  idleTimeout: 300,
  hold: { queue: 100, timeout: 30 },
  predictive: { enabled: false, bucket: 60, season: 1440, horizon: 120 },
} as const;

/** A {@link ScalingSpec} with every default filled in; `target` is the effective per-replica target of `metric`. */
export interface ResolvedScaling {
  readonly min: number;
  readonly max: number;
  readonly targetCPU: number;
  readonly targetMemory: number;
  readonly metric: ScalingMetric;
  /** Per replica, in the metric's unit: in-flight requests, requests/s, % of request, or the custom value. */
  readonly target: number;
  /** Only for `metric: custom`. */
  readonly custom?: { readonly query: string; readonly target: number };
  /** Only for `metric: queue`. */
  readonly queue?: Readonly<QueueScaling>;
  readonly stableWindow: number;
  readonly panicWindow: number;
  readonly panicThreshold: number;
  readonly scaleDownDelay: number;
  readonly idleTimeout: number;
  readonly hold: { readonly queue: number; readonly timeout: number };
  readonly schedules: readonly ScalingSchedule[];
  readonly predictive: Readonly<Required<PredictiveScaling>>;
}

/**
 * Throws an `InvalidArgumentError` naming the field unless `value` is a valid scaling spec.
 * `min`, `max`, `targetCPU` and `targetMemory` are required (the deployment spec fills them).
 */
export function validateScaling(value: unknown, field = 'configuration.scaling'): void {
  const s = object(value, field);
  allowOnly(s, field, SCALING_FIELDS);
  const min = integer(s.min, `${field}.min`, 0, MAX_REPLICAS);
  const max = integer(s.max, `${field}.max`, 0, MAX_REPLICAS);
  if (min > max) fail(`${field}.max`, `must be at least scaling.min (${min})`, max);
  integer(s.targetCPU, `${field}.targetCPU`, 1, 100);
  integer(s.targetMemory, `${field}.targetMemory`, 1, 100);

  const metric = s.metric ?? SCALING_DEFAULTS.metric;
  if (!SCALING_METRICS.includes(metric as ScalingMetric))
    fail(`${field}.metric`, `must be one of ${SCALING_METRICS.join(', ')}`, s.metric);
  if (s.target !== undefined) {
    if (metric !== 'concurrency' && metric !== 'rps') {
      const instead =
        metric === 'cpu' ? 'targetCPU' : metric === 'memory' ? 'targetMemory' : `${metric as string}.target`;
      fail(
        `${field}.target`,
        `applies to metrics concurrency and rps only (metric ${metric as string} uses ${instead})`,
        s.target,
      );
    }
    positive(s.target, `${field}.target`);
  }
  if (metric === 'custom') {
    if (s.custom === undefined) fail(`${field}.custom`, "is required when metric is 'custom'");
    const custom = object(s.custom, `${field}.custom`);
    allowOnly(custom, `${field}.custom`, CUSTOM_METRIC_FIELDS);
    text(custom.query, `${field}.custom.query`);
    positive(custom.target, `${field}.custom.target`);
  } else if (s.custom !== undefined) {
    fail(`${field}.custom`, "is allowed only when metric is 'custom'");
  }
  if (metric === 'queue') {
    if (s.queue === undefined) fail(`${field}.queue`, "is required when metric is 'queue'");
    validateQueue(s.queue, `${field}.queue`);
  } else if (s.queue !== undefined) {
    fail(`${field}.queue`, "is allowed only when metric is 'queue'");
  }

  const stableWindow =
    optionalNumber(s.stableWindow, `${field}.stableWindow`, 6, 3600) ?? SCALING_DEFAULTS.stableWindow;
  if (
    s.panicWindow !== undefined &&
    (typeof s.panicWindow !== 'number' ||
      !Number.isFinite(s.panicWindow) ||
      s.panicWindow < 1 ||
      s.panicWindow > stableWindow)
  ) {
    fail(`${field}.panicWindow`, `must be a number of seconds from 1 to stableWindow (${stableWindow})`, s.panicWindow);
  }
  optionalNumber(s.panicThreshold, `${field}.panicThreshold`, 1.1, 10, 'a multiple');
  optionalNumber(s.scaleDownDelay, `${field}.scaleDownDelay`, 0, 3600);
  optionalNumber(s.idleTimeout, `${field}.idleTimeout`, 10, 86_400);
  if (s.hold !== undefined) {
    const hold = object(s.hold, `${field}.hold`);
    allowOnly(hold, `${field}.hold`, HOLD_FIELDS);
    integer(hold.queue, `${field}.hold.queue`, 1, 10_000);
    numberIn(hold.timeout, `${field}.hold.timeout`, 1, 600);
  }
  if (s.schedules !== undefined) validateSchedules(s.schedules, `${field}.schedules`);
  if (s.predictive !== undefined) validatePredictive(s.predictive, `${field}.predictive`);
}

/** `spec` with every default filled in. Assumes `spec` passed {@link validateScaling}. */
export function resolveScaling(spec: ScalingSpec): ResolvedScaling {
  const d = SCALING_DEFAULTS;
  const metric = spec.metric ?? d.metric;
  const resolved: ResolvedScaling = {
    min: spec.min,
    max: spec.max,
    targetCPU: spec.targetCPU,
    targetMemory: spec.targetMemory,
    metric,
    target: targetOf(spec, metric),
    ...(metric === 'custom' && spec.custom !== undefined ? { custom: { ...spec.custom } } : {}),
    ...(metric === 'queue' && spec.queue !== undefined ? { queue: { ...spec.queue } } : {}),
    stableWindow: spec.stableWindow ?? d.stableWindow,
    panicWindow: spec.panicWindow ?? d.panicWindow,
    panicThreshold: spec.panicThreshold ?? d.panicThreshold,
    scaleDownDelay: spec.scaleDownDelay ?? d.scaleDownDelay,
    idleTimeout: spec.idleTimeout ?? d.idleTimeout,
    hold: { ...d.hold, ...spec.hold },
    schedules: (spec.schedules ?? []).map((schedule) => ({ ...schedule })),
    predictive: { ...d.predictive, ...spec.predictive },
  };
  return resolved;
}

/**
 * True when the spec asks for an autoscaler: a range of sizes, or scale to zero (`min: 0`, `max > 0`).
 * `min == max` (the default, from `replicas`) is a fixed size.
 */
export function autoscaled(spec: Pick<ScalingSpec, 'min' | 'max'>): boolean {
  return spec.max > spec.min; // scale to zero (min 0, max > 0) is a range too
}

/** True when the spec lets an idle deployment go to zero replicas (the gateway then holds requests). */
export function mayScaleToZero(spec: Pick<ScalingSpec, 'min' | 'max'>): boolean {
  return spec.min === 0 && spec.max > 0;
}

/**
 * The size of an autoscaled deployment before the autoscaler's first decision: the spec's
 * replicas within the spec's bounds (a schedule's bounds are then the first decision, with its event).
 */
export function initialSize(configuration: { replicas: number; scaling: Pick<ScalingSpec, 'min' | 'max'> }): number {
  const { replicas, scaling } = configuration;
  return Math.min(scaling.max, Math.max(scaling.min, replicas));
}

function targetOf(spec: ScalingSpec, metric: ScalingMetric): number {
  switch (metric) {
    case 'concurrency':
      return spec.target ?? SCALING_DEFAULTS.target.concurrency;
    case 'rps':
      return spec.target ?? SCALING_DEFAULTS.target.rps;
    case 'cpu':
      return spec.targetCPU;
    case 'memory':
      return spec.targetMemory;
    case 'custom':
      return spec.custom?.target ?? 1;
    case 'queue':
      return spec.queue?.target ?? 1;
  }
}

function validateSchedules(value: unknown, field: string): void {
  const schedules = array(value, field, 0, MAX_SCHEDULES);
  const seen = new Map<string, number>();
  schedules.forEach((item, i) => {
    const at = `${field}[${i}]`;
    const schedule = object(item, at);
    allowOnly(schedule, at, SCHEDULE_FIELDS);
    const name = dnsLabel(schedule.name, `${at}.name`);
    const first = seen.get(name);
    if (first !== undefined) fail(`${at}.name`, `must be unique (schedules[${first}] has the same name)`, name);
    seen.set(name, i);
    let timezone = 'UTC';
    if (schedule.timezone !== undefined) timezone = validTimezone(schedule.timezone, `${at}.timezone`);
    validCron(schedule.start, `${at}.start`, timezone);
    validCron(schedule.end, `${at}.end`, timezone);
    const min = schedule.min === undefined ? undefined : integer(schedule.min, `${at}.min`, 0, MAX_REPLICAS);
    const max = schedule.max === undefined ? undefined : integer(schedule.max, `${at}.max`, 0, MAX_REPLICAS);
    if (min !== undefined && max !== undefined && min > max)
      fail(`${at}.max`, `must be at least the schedule's min (${min})`, max);
  });
}

function validatePredictive(value: unknown, field: string): void {
  const p = object(value, field);
  allowOnly(p, field, PREDICTIVE_FIELDS);
  if (typeof p.enabled !== 'boolean') fail(`${field}.enabled`, 'must be true or false', p.enabled);
  if (p.bucket !== undefined) integer(p.bucket, `${field}.bucket`, 10, 3600);
  if (p.season !== undefined && p.season !== 0) {
    if (typeof p.season !== 'number' || !Number.isInteger(p.season) || p.season < 2 || p.season > 10_080) {
      fail(`${field}.season`, 'must be 0 (no seasonality) or an integer number of buckets from 2 to 10080', p.season);
    }
  }
  optionalNumber(p.horizon, `${field}.horizon`, 0, 86_400);
}

function positive(value: unknown, field: string): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0)
    fail(field, 'must be a number above 0', value);
}

function optionalNumber(
  value: unknown,
  field: string,
  min: number,
  max: number,
  what = 'a number of seconds',
): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max)
    fail(field, `must be ${what} from ${min} to ${max}`, value);
  return value;
}
