/**
 * Turns a template, the arguments of the rollout step that uses it, and the revision under
 * analysis into a resolved definition: every placeholder substituted, every threshold a number,
 * every default filled in. The analysis run and step work only on resolved definitions, and
 * resolution is deterministic, so the reconciler can redo it on every pass instead of storing it.
 */
import type { AnalysisArg, AnalysisTemplate, BuiltinMetricName, OnInconclusive, Threshold } from './template.js';
import { METRIC_DEFAULTS, placeholderArgs, validateAnalysisArgs, validateAnalysisTemplate } from './template.js';
import { fail } from '../validation.js';

/** The revision an analysis measures. */
export interface AnalysisTarget {
  readonly environment: string;
  readonly deployment: string;
  /** Workload revision (what the gateway labels its metrics with). */
  readonly revision: number;
}

/** Where a resolved metric's value comes from. */
export type ResolvedProvider =
  | { readonly kind: 'builtin'; readonly metric: BuiltinMetricName; readonly windowSeconds: number }
  | { readonly kind: 'prometheus'; readonly query: string };

/** A metric with every setting decided. */
export interface ResolvedMetric {
  readonly name: string;
  readonly provider: ResolvedProvider;
  readonly min?: number;
  readonly max?: number;
  readonly intervalSeconds: number;
  readonly count: number;
  readonly failureLimit: number;
  readonly inconclusiveLimit: number;
  /** 0 for PromQL metrics, and for request-count / request-rate (whose condition is about the count itself). */
  readonly minSamples: number;
  readonly onInconclusive: OnInconclusive;
}

/** A template applied to one revision. */
export interface ResolvedAnalysis {
  readonly template: string;
  readonly target: AnalysisTarget;
  readonly metrics: readonly ResolvedMetric[];
}

/**
 * Resolves `template` for `target` with the step's `args` (which override the template's
 * defaults). Throws an InvalidArgumentError naming `args.NAME` for an argument that is missing,
 * undeclared or not a number where a threshold needs one. `field` prefixes the step's argument
 * paths (e.g. `strategy.canary.steps[2].analysis.args`).
 *
 * @example
 *   resolveAnalysis(BUILTIN_ANALYSIS_TEMPLATES['success-rate'], [{ name: 'min', value: 0.995 }],
 *     { environment: 'production', deployment: 'risk', revision: 4 });
 */
export function resolveAnalysis(
  template: AnalysisTemplate,
  args: readonly AnalysisArg[] | undefined,
  target: AnalysisTarget,
  field = 'args',
): ResolvedAnalysis {
  validateAnalysisTemplate(template, 'template');
  const given = validateAnalysisArgs(args ?? [], field);
  const values = new Map<string, string | number>();
  for (const a of template.args ?? []) if (a.value !== undefined) values.set(a.name, a.value);
  given.forEach((a, i) => {
    if (!(template.args ?? []).some((d) => d.name === a.name)) {
      const known = (template.args ?? []).map((d) => d.name).join(', ') || 'none';
      fail(`${field}[${i}].name`, `template '${template.name}' has no argument '${a.name}' (its arguments: ${known})`);
    }
    if (a.value === undefined) fail(`${field}[${i}].value`, 'is required when an argument is given');
    values.set(a.name, a.value);
  });
  const arg = (name: string): string | number => {
    const v = values.get(name);
    if (v === undefined) fail(`args.${name}`, `is required by template '${template.name}' (it has no default)`);
    return v;
  };
  const substitute = (text: string): string =>
    text.replace(/\{\{\s*([^{}]*?)\s*\}\}/g, (_whole, inner: string) => {
      if (inner === 'revision') return String(target.revision);
      if (inner === 'deployment') return target.deployment;
      if (inner === 'environment') return target.environment;
      return String(arg(inner.slice('args.'.length)));
    });
  const threshold = (t: Threshold | undefined, where: string): number | undefined => {
    if (t === undefined || typeof t === 'number') return t;
    const [name] = placeholderArgs(t, where);
    const v = arg(name!);
    const n = typeof v === 'number' ? v : v.trim() === '' ? NaN : Number(v);
    if (!Number.isFinite(n)) fail(`args.${name!}`, `must be a number (it is the ${where})`, v);
    return n;
  };

  const metrics = template.metrics.map((m, i): ResolvedMetric => {
    const where = `threshold metrics[${i}].successCondition`;
    const min = threshold(m.successCondition.min, `${where}.min`);
    const max = threshold(m.successCondition.max, `${where}.max`);
    if (min !== undefined && max !== undefined && min > max)
      fail(field, `must not make metrics[${i}].successCondition.min (${min}) greater than its max (${max})`);
    const provider: ResolvedProvider =
      'builtin' in m.provider
        ? {
            kind: 'builtin',
            metric: m.provider.builtin.metric,
            windowSeconds: m.provider.builtin.windowSeconds ?? METRIC_DEFAULTS.windowSeconds,
          }
        : { kind: 'prometheus', query: substitute(m.provider.prometheus.query) };
    const countsItself =
      provider.kind === 'builtin' && (provider.metric === 'request-count' || provider.metric === 'request-rate');
    return {
      name: m.name,
      provider,
      ...(min === undefined ? {} : { min }),
      ...(max === undefined ? {} : { max }),
      intervalSeconds: m.intervalSeconds ?? METRIC_DEFAULTS.intervalSeconds,
      count: m.count ?? METRIC_DEFAULTS.count,
      failureLimit: m.failureLimit ?? METRIC_DEFAULTS.failureLimit,
      inconclusiveLimit: m.inconclusiveLimit ?? METRIC_DEFAULTS.inconclusiveLimit,
      minSamples: provider.kind === 'prometheus' || countsItself ? 0 : (m.minSamples ?? METRIC_DEFAULTS.minSamples),
      onInconclusive: m.onInconclusive ?? METRIC_DEFAULTS.onInconclusive,
    };
  });
  return { template: template.name, target: { ...target }, metrics };
}
