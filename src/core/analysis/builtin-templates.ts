/**
 * Templates every installation has, so `analysis: { template: default }` works with no setup and
 * no Prometheus. Their defaults act within seconds: a measurement every second over the last
 * 5 seconds of gateway traffic (the first one after 1 s, over that first second), ten measurements
 * to pass, and the first failed one ends the analysis.
 */
import type { AnalysisMetric, AnalysisTemplate } from './template.js';
import { fail } from '../validation.js';

const successRate: AnalysisMetric = {
  name: 'success-rate',
  provider: { builtin: { metric: 'success-rate', windowSeconds: 5 } },
  successCondition: { min: '{{args.min}}' },
  intervalSeconds: 1,
};

const latencyP99: AnalysisMetric = {
  name: 'latency-p99',
  provider: { builtin: { metric: 'latency-p99', windowSeconds: 5 } },
  successCondition: { max: '{{args.max}}' },
  intervalSeconds: 1,
};

/** The built-in templates by name: `success-rate` (arg `min`, 0.99), `latency-p99` (arg `max` seconds, 0.5) and `default` (both). */
export const BUILTIN_ANALYSIS_TEMPLATES: Readonly<
  Record<'success-rate' | 'latency-p99' | 'default', AnalysisTemplate>
> = deepFreeze({
  'success-rate': {
    name: 'success-rate',
    description: 'Share of responses that are not 5xx, over the last 5 s, at least args.min.',
    args: [{ name: 'min', value: 0.99 }],
    metrics: [successRate],
  },
  'latency-p99': {
    name: 'latency-p99',
    description: '99th percentile latency through the gateway, over the last 5 s, at most args.max seconds.',
    args: [{ name: 'max', value: 0.5 }],
    metrics: [latencyP99],
  },
  default: {
    name: 'default',
    description: 'success-rate and latency-p99 together.',
    args: [
      { name: 'min', value: 0.99 },
      { name: 'max', value: 0.5 },
    ],
    metrics: [successRate, latencyP99],
  },
});

/**
 * The template called `name`: one of `custom` (user-defined, by name) or a built-in one. Throws an
 * InvalidArgumentError at `field` naming the templates that exist.
 */
export function findAnalysisTemplate(
  name: string,
  custom: Readonly<Record<string, AnalysisTemplate>> = {},
  field = 'template',
): AnalysisTemplate {
  const found = Object.hasOwn(custom, name)
    ? custom[name]
    : Object.hasOwn(BUILTIN_ANALYSIS_TEMPLATES, name)
      ? BUILTIN_ANALYSIS_TEMPLATES[name as keyof typeof BUILTIN_ANALYSIS_TEMPLATES]
      : undefined;
  if (found === undefined) {
    fail(
      field,
      `unknown analysis template (known: ${[...new Set([...Object.keys(custom), ...Object.keys(BUILTIN_ANALYSIS_TEMPLATES)])].join(', ')})`,
      name,
    );
  }
  return found;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
