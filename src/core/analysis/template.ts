/**
 * Analysis templates: named sets of metrics that decide whether a rollout may proceed, as users
 * write them (YAML or JSON), and the rules a template must meet. Pure: no I/O.
 *
 * A metric reads either one of the built-in per-revision figures (computed from gateway counters,
 * no Prometheus needed) or a PromQL query, and passes when its value lies within
 * `successCondition`. Queries and thresholds may use placeholders: `{{args.NAME}}` (an argument of
 * the template, given by the rollout step or defaulted here), `{{revision}}`, `{{deployment}}` and
 * `{{environment}}` (the revision under analysis). See `resolve.ts` for how they are filled in and
 * `run.ts` for how measurements add up to a verdict.
 *
 * @example
 *   validateAnalysisTemplate({
 *     name: 'low-errors', args: [{ name: 'max', value: 0.01 }],
 *     metrics: [{ name: 'error-rate', provider: { builtin: { metric: 'error-rate' } }, successCondition: { max: '{{args.max}}' } }],
 *   });
 */
import { allowOnly, array, dnsLabel, fail, integer, numberIn, object, path, text } from '../validation.js';

/** The figures the built-in provider offers for a revision over a trailing window. */
export type BuiltinMetricName =
  'success-rate' | 'error-rate' | 'latency-p50' | 'latency-p95' | 'latency-p99' | 'request-count' | 'request-rate';

/** Every {@link BuiltinMetricName}. */
export const BUILTIN_METRICS: readonly BuiltinMetricName[] = [
  'success-rate',
  'error-rate',
  'latency-p50',
  'latency-p95',
  'latency-p99',
  'request-count',
  'request-rate',
];

/** What to do when a metric cannot reach a verdict: pause the rollout (default), fail it, or let it pass. */
export type OnInconclusive = 'pause' | 'fail' | 'pass';

/** A threshold: a number, or exactly `'{{args.NAME}}'`. */
export type Threshold = number | string;

/** Where a metric's value comes from. */
export type AnalysisProvider =
  { builtin: { metric: BuiltinMetricName; windowSeconds?: number } } | { prometheus: { query: string } };

/** One metric of a template; omitted settings take {@link METRIC_DEFAULTS}. */
export interface AnalysisMetric {
  /** A DNS label, unique within the template. */
  name: string;
  provider: AnalysisProvider;
  /** Passes when min ≤ value ≤ max (either may be omitted, not both). */
  successCondition: { min?: Threshold; max?: Threshold };
  /** Time between measurements. */
  intervalSeconds?: number;
  /** Measurements (successful, failed or inconclusive) before the metric is done. */
  count?: number;
  /** Failed measurements tolerated; one more fails the analysis. */
  failureLimit?: number;
  /** Inconclusive measurements tolerated; one more makes the metric inconclusive. */
  inconclusiveLimit?: number;
  /** Built-in provider only: fewer requests in the window make a measurement inconclusive. */
  minSamples?: number;
  onInconclusive?: OnInconclusive;
}

/** An argument of a template: a name and an optional default value. */
export interface AnalysisArg {
  name: string;
  value?: string | number;
}

/** A template as users write it. */
export interface AnalysisTemplate {
  /** A DNS label. */
  name: string;
  description?: string;
  args?: AnalysisArg[];
  metrics: AnalysisMetric[];
}

/** Defaults of the optional metric settings. */
export const METRIC_DEFAULTS = {
  intervalSeconds: 1,
  count: 10,
  failureLimit: 0,
  inconclusiveLimit: 3,
  minSamples: 10,
  onInconclusive: 'pause' as OnInconclusive,
  /** Built-in provider window. */
  windowSeconds: 5,
} as const;

/** Longest built-in window: the built-in source keeps 15 minutes of samples. */
export const MAX_WINDOW_SECONDS = 900;

const ARG_NAME = /^[A-Za-z_][A-Za-z0-9_-]{0,62}$/;
const PLACEHOLDER = /\{\{\s*([^{}]*?)\s*\}\}/g;
const PLACEHOLDERS_RULE = 'placeholders are {{args.NAME}}, {{revision}}, {{deployment}} and {{environment}}';

/**
 * Checks `value` against every rule and returns it typed. `field` prefixes error paths (e.g.
 * `strategy.analysis.templates[0]`); empty for a document of its own.
 */
export function validateAnalysisTemplate(value: unknown, field = ''): AnalysisTemplate {
  const t = object(value, field);
  allowOnly(t, field, ['name', 'description', 'args', 'metrics']);
  dnsLabel(t.name, path(field, 'name'));
  if (t.description !== undefined) text(t.description, path(field, 'description'), 1000);
  const args = t.args === undefined ? [] : validateAnalysisArgs(t.args, path(field, 'args'));
  const declared = new Set(args.map((a) => a.name));
  const metrics = array(t.metrics, path(field, 'metrics'), 1, 20);
  const names = new Set<string>();
  metrics.forEach((m, i) => {
    const f = path(field, `metrics[${i}]`);
    validateMetric(m, f, declared);
    const name = (m as AnalysisMetric).name;
    if (names.has(name)) fail(path(f, 'name'), 'must be unique within the template', name);
    names.add(name);
  });
  return value as AnalysisTemplate;
}

/** Checks a list of `{ name, value? }` arguments (a template's, or a rollout step's); names unique. */
export function validateAnalysisArgs(value: unknown, field: string): AnalysisArg[] {
  const args = array(value, field, 0, 50);
  const seen = new Set<string>();
  args.forEach((a, i) => {
    const f = `${field}[${i}]`;
    const arg = object(a, f);
    allowOnly(arg, f, ['name', 'value']);
    if (typeof arg.name !== 'string' || !ARG_NAME.test(arg.name)) {
      fail(`${f}.name`, "must be a name of letters, digits, '_' or '-', starting with a letter or '_'", arg.name);
    }
    if (seen.has(arg.name)) fail(`${f}.name`, 'must be unique', arg.name);
    seen.add(arg.name);
    if (
      arg.value !== undefined &&
      !(typeof arg.value === 'string' || (typeof arg.value === 'number' && Number.isFinite(arg.value)))
    ) {
      fail(`${f}.value`, 'must be a string or a finite number', arg.value);
    }
  });
  return args as AnalysisArg[];
}

/** The argument names a text's placeholders refer to; throws on an unknown placeholder. */
export function placeholderArgs(value: string, field: string): string[] {
  const names: string[] = [];
  for (const [whole, inner] of value.matchAll(PLACEHOLDER)) {
    if (inner === 'revision' || inner === 'deployment' || inner === 'environment') continue;
    const arg = /^args\.(.+)$/.exec(inner!)?.[1];
    if (arg === undefined || !ARG_NAME.test(arg)) fail(field, `unknown placeholder ${whole} (${PLACEHOLDERS_RULE})`);
    names.push(arg);
  }
  return names;
}

function validateMetric(value: unknown, field: string, declared: ReadonlySet<string>): void {
  const m = object(value, field);
  allowOnly(m, field, [
    'name',
    'provider',
    'successCondition',
    'intervalSeconds',
    'count',
    'failureLimit',
    'inconclusiveLimit',
    'minSamples',
    'onInconclusive',
  ]);
  dnsLabel(m.name, `${field}.name`);
  const builtin = validateProvider(m.provider, `${field}.provider`, declared);

  const c = object(m.successCondition, `${field}.successCondition`);
  allowOnly(c, `${field}.successCondition`, ['min', 'max']);
  if (c.min === undefined && c.max === undefined) fail(`${field}.successCondition`, 'needs min, max or both');
  for (const bound of ['min', 'max'] as const) {
    const v = c[bound];
    if (v === undefined || (typeof v === 'number' && Number.isFinite(v))) continue;
    const arg = typeof v === 'string' ? /^\{\{\s*args\.([^{}\s]+)\s*\}\}$/.exec(v)?.[1] : undefined;
    if (arg === undefined) fail(`${field}.successCondition.${bound}`, "must be a number or '{{args.NAME}}'", v);
    if (!declared.has(arg))
      fail(`${field}.successCondition.${bound}`, `refers to args.${arg}, which the template does not declare`, v);
  }
  if (typeof c.min === 'number' && typeof c.max === 'number' && c.min > c.max)
    fail(`${field}.successCondition.max`, `must be at least min (${c.min})`, c.max);

  if (m.intervalSeconds !== undefined) numberIn(m.intervalSeconds, `${field}.intervalSeconds`, 0.25, 3600);
  const count = m.count === undefined ? METRIC_DEFAULTS.count : integer(m.count, `${field}.count`, 1, 1000);
  if (m.failureLimit !== undefined) {
    integer(m.failureLimit, `${field}.failureLimit`, 0, 1000);
    // A limit the count can never exceed would make the metric unable to fail.
    if ((m.failureLimit as number) >= count)
      fail(
        `${field}.failureLimit`,
        `must be less than count (${count}), or the metric could never fail`,
        m.failureLimit,
      );
  }
  if (m.inconclusiveLimit !== undefined) integer(m.inconclusiveLimit, `${field}.inconclusiveLimit`, 0, 1000);
  if (m.minSamples !== undefined) {
    if (!builtin)
      fail(`${field}.minSamples`, 'applies only to the builtin provider (a PromQL query states its own sample rules)');
    integer(m.minSamples, `${field}.minSamples`, 0, 1_000_000);
  }
  if (m.onInconclusive !== undefined && !['pause', 'fail', 'pass'].includes(m.onInconclusive as string)) {
    fail(`${field}.onInconclusive`, "must be 'pause', 'fail' or 'pass'", m.onInconclusive);
  }
}

/** Checks a provider; returns whether it is the built-in one. */
function validateProvider(value: unknown, field: string, declared: ReadonlySet<string>): boolean {
  const p = object(value, field);
  allowOnly(p, field, ['builtin', 'prometheus']);
  const kinds = Object.keys(p);
  if (kinds.length !== 1)
    fail(field, 'must name exactly one of builtin, prometheus', kinds.length === 0 ? undefined : kinds);
  if (p.builtin !== undefined) {
    const b = object(p.builtin, `${field}.builtin`);
    allowOnly(b, `${field}.builtin`, ['metric', 'windowSeconds']);
    if (!BUILTIN_METRICS.includes(b.metric as BuiltinMetricName))
      fail(`${field}.builtin.metric`, `must be one of ${BUILTIN_METRICS.join(', ')}`, b.metric);
    if (b.windowSeconds !== undefined)
      numberIn(b.windowSeconds, `${field}.builtin.windowSeconds`, 1, MAX_WINDOW_SECONDS);
    return true;
  }
  const q = object(p.prometheus, `${field}.prometheus`);
  allowOnly(q, `${field}.prometheus`, ['query']);
  const query = text(q.query, `${field}.prometheus.query`);
  for (const arg of placeholderArgs(query, `${field}.prometheus.query`)) {
    if (!declared.has(arg))
      fail(`${field}.prometheus.query`, `refers to args.${arg}, which the template does not declare`);
  }
  return false;
}
