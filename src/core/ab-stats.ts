/**
 * Statistics for A/B tests between two model revisions. Pure: numbers in, numbers and a verdict
 * out. Variant B is compared with A (the control): lifts and differences are B relative to A.
 *
 * - Binary outcomes (converted or not): per-variant rate with a 95% Wilson score interval (which,
 *   unlike the normal approximation, stays inside [0, 1] and behaves at 0 or n conversions), and
 *   a two-sided two-proportion z-test with the pooled proportion (the same p-value as R's
 *   `prop.test(correct = FALSE)`).
 * - Numeric outcomes (a score, revenue, latency): Welch's t-test, which does not assume equal
 *   variances, with Welch–Satterthwaite degrees of freedom and a p-value from Student's t.
 *
 * @example
 *   compareConversions({ n: 2000, conversions: 200 }, { n: 2000, conversions: 250 }).verdict
 *   // 'B converts better than A: 12.5% vs 10.0% (+25.0% lift); significant at alpha 0.05 (p = 0.012).'
 */
import { InvalidArgumentError } from './errors.js';
import { normalTwoSidedP, studentTTwoSidedP } from './stats/special-functions.js';

/** z for a two-sided 95% interval: the 0.975 quantile of the standard normal. */
export const Z_95 = 1.959963984540054;

/** Default significance level. */
export const DEFAULT_ALPHA = 0.05;

/** Options shared by the tests. */
export interface TestOptions {
  /** Significance level, default {@link DEFAULT_ALPHA}. */
  alpha?: number;
  /** Names used in the verdict, default ['A', 'B']. */
  names?: readonly [string, string];
}

/** Outcomes of one variant. */
export interface ConversionCounts {
  /** Outcomes recorded. */
  readonly n: number;
  /** Of which converted. */
  readonly conversions: number;
}

/** One variant's rate; undefined figures when it has no outcomes. */
export interface VariantConversion extends ConversionCounts {
  readonly rate: number | undefined;
  /** 95% Wilson score interval of the rate. */
  readonly interval: { readonly low: number; readonly high: number } | undefined;
}

/** B against A on a binary outcome. */
export interface ConversionComparison {
  readonly a: VariantConversion;
  readonly b: VariantConversion;
  /** rate(B) − rate(A). */
  readonly difference: number | undefined;
  /** (rate(B) − rate(A)) / rate(A); undefined when A's rate is 0. */
  readonly lift: number | undefined;
  readonly z: number | undefined;
  /** Two-sided. */
  readonly pValue: number | undefined;
  readonly alpha: number;
  readonly significant: boolean;
  /** One plain-English sentence for people. */
  readonly verdict: string;
}

/**
 * The 95% Wilson score interval of `conversions` out of `n`; undefined when n is 0.
 *
 * @example
 *   wilsonInterval(7, 20) // { low: 0.1812, high: 0.5671 } (rounded)
 */
export function wilsonInterval(conversions: number, n: number): { low: number; high: number } | undefined {
  if (n === 0) return undefined;
  const p = conversions / n;
  const z2 = Z_95 * Z_95;
  const denominator = 1 + z2 / n;
  const center = (p + z2 / (2 * n)) / denominator;
  const half = (Z_95 / denominator) * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  return { low: Math.max(0, center - half), high: Math.min(1, center + half) };
}

/** Compares B's conversion rate with A's. Throws an InvalidArgumentError for impossible counts. */
export function compareConversions(
  a: ConversionCounts,
  b: ConversionCounts,
  options: TestOptions = {},
): ConversionComparison {
  const alpha = checkAlpha(options.alpha);
  const [nameA, nameB] = options.names ?? ['A', 'B'];
  checkCounts(a, 'a');
  checkCounts(b, 'b');
  const va = variant(a);
  const vb = variant(b);
  if (va.rate === undefined || vb.rate === undefined) {
    const empty = [va.rate === undefined ? nameA : undefined, vb.rate === undefined ? nameB : undefined].filter(
      Boolean,
    );
    const verdict = `Not enough data: ${empty.join(' and ')} ${empty.length === 1 ? 'has' : 'have'} no outcomes yet.`;
    return {
      a: va,
      b: vb,
      difference: undefined,
      lift: undefined,
      z: undefined,
      pValue: undefined,
      alpha,
      significant: false,
      verdict,
    };
  }
  const difference = vb.rate - va.rate;
  const lift = va.rate > 0 ? difference / va.rate : undefined;
  const pooled = (a.conversions + b.conversions) / (a.n + b.n);
  const se = Math.sqrt(pooled * (1 - pooled) * (1 / a.n + 1 / b.n));
  // se is 0 only when both variants converted always or never: identical, nothing to test.
  const z = se > 0 ? difference / se : 0;
  const pValue = se > 0 ? normalTwoSidedP(z) : 1;
  const significant = pValue < alpha;
  const rates = `${pct(vb.rate)} vs ${pct(va.rate)}`;
  const liftText =
    lift === undefined ? `${nameA} converts at 0%` : `${lift >= 0 ? '+' : ''}${(lift * 100).toFixed(1)}% lift`;
  const verdict = significant
    ? `${nameB} converts ${difference > 0 ? 'better' : 'worse'} than ${nameA}: ${rates} (${liftText}); significant at alpha ${alpha} (${pText(pValue)}).`
    : `No significant difference between ${nameB} and ${nameA} yet: ${rates} (${liftText}), ${pText(pValue)} >= alpha ${alpha}; keep collecting outcomes.`;
  return { a: va, b: vb, difference, lift, z, pValue, alpha, significant, verdict };
}

/** Mean and sample variance of one variant's numeric outcomes. */
export interface NumericSummary {
  readonly n: number;
  readonly mean: number;
  /** Sample variance (n − 1 in the denominator); 0 when n < 2. */
  readonly variance: number;
}

/** B against A on a numeric outcome. */
export interface MeanComparison {
  readonly a: NumericSummary;
  readonly b: NumericSummary;
  /** mean(B) − mean(A). */
  readonly difference: number | undefined;
  readonly t: number | undefined;
  /** Welch–Satterthwaite degrees of freedom. */
  readonly df: number | undefined;
  /** Two-sided. */
  readonly pValue: number | undefined;
  readonly alpha: number;
  readonly significant: boolean;
  readonly verdict: string;
}

/** The summary of `values` (Welford's algorithm, stable for large means). */
export function summarize(values: readonly number[]): NumericSummary {
  let mean = 0;
  let m2 = 0;
  values.forEach((x, i) => {
    const delta = x - mean;
    mean += delta / (i + 1);
    m2 += delta * (x - mean);
  });
  return {
    n: values.length,
    mean: values.length === 0 ? NaN : mean,
    variance: values.length < 2 ? 0 : m2 / (values.length - 1),
  };
}

/** Welch's t-test of mean(B) against mean(A). Each variant needs at least 2 outcomes. */
export function welchTTest(a: NumericSummary, b: NumericSummary, options: TestOptions = {}): MeanComparison {
  const alpha = checkAlpha(options.alpha);
  const [nameA, nameB] = options.names ?? ['A', 'B'];
  checkSummary(a, 'a');
  checkSummary(b, 'b');
  if (a.n < 2 || b.n < 2) {
    const short = [a.n < 2 ? nameA : undefined, b.n < 2 ? nameB : undefined].filter(Boolean);
    const verdict = `Not enough data: ${short.join(' and ')} ${short.length === 1 ? 'needs at least 2 outcomes' : 'need at least 2 outcomes each'}.`;
    return {
      a,
      b,
      difference: undefined,
      t: undefined,
      df: undefined,
      pValue: undefined,
      alpha,
      significant: false,
      verdict,
    };
  }
  const difference = b.mean - a.mean;
  const va = a.variance / a.n;
  const vb = b.variance / b.n;
  const se = Math.sqrt(va + vb);
  let t: number;
  let df: number;
  let pValue: number;
  if (se > 0) {
    t = difference / se;
    df = (va + vb) ** 2 / (va ** 2 / (a.n - 1) + vb ** 2 / (b.n - 1));
    pValue = studentTTwoSidedP(t, df);
  } else {
    // No spread at all: the means either are equal or differ with certainty.
    t = difference === 0 ? 0 : Math.sign(difference) * Infinity;
    df = a.n + b.n - 2;
    pValue = difference === 0 ? 1 : 0;
  }
  const significant = pValue < alpha;
  const means = `mean ${num(b.mean)} vs ${num(a.mean)} (${difference >= 0 ? '+' : ''}${num(difference)})`;
  const verdict = significant
    ? `${nameB} differs from ${nameA}: ${means}; significant at alpha ${alpha} (${pText(pValue)}, Welch t = ${num(t)}, df = ${num(df)}).`
    : `No significant difference between ${nameB} and ${nameA} yet: ${means}, ${pText(pValue)} >= alpha ${alpha}; keep collecting outcomes.`;
  return { a, b, difference, t, df, pValue, alpha, significant, verdict };
}

function variant(c: ConversionCounts): VariantConversion {
  return {
    n: c.n,
    conversions: c.conversions,
    rate: c.n > 0 ? c.conversions / c.n : undefined,
    interval: wilsonInterval(c.conversions, c.n),
  };
}

function checkCounts(c: ConversionCounts, field: string): void {
  if (!Number.isInteger(c.n) || c.n < 0)
    throw new InvalidArgumentError(`${field}.n: must be a non-negative integer, got ${JSON.stringify(c.n)}`);
  if (!Number.isInteger(c.conversions) || c.conversions < 0 || c.conversions > c.n) {
    throw new InvalidArgumentError(
      `${field}.conversions: must be an integer from 0 to n (${c.n}), got ${JSON.stringify(c.conversions)}`,
    );
  }
}

function checkSummary(s: NumericSummary, field: string): void {
  if (!Number.isInteger(s.n) || s.n < 0)
    throw new InvalidArgumentError(`${field}.n: must be a non-negative integer, got ${JSON.stringify(s.n)}`);
  if (s.n > 0 && !Number.isFinite(s.mean))
    throw new InvalidArgumentError(`${field}.mean: must be a finite number, got ${JSON.stringify(s.mean)}`);
  if (!Number.isFinite(s.variance) || s.variance < 0)
    throw new InvalidArgumentError(
      `${field}.variance: must be a non-negative number, got ${JSON.stringify(s.variance)}`,
    );
}

function checkAlpha(alpha: number | undefined): number {
  const a = alpha ?? DEFAULT_ALPHA;
  if (!(a > 0 && a < 1))
    throw new InvalidArgumentError(`alpha: must be a number between 0 and 1, got ${JSON.stringify(alpha)}`);
  return a;
}

function pct(rate: number): string {
  return `${(rate * 100).toFixed(1)}%`;
}

function pText(p: number): string {
  return p < 0.0001 ? 'p < 0.0001' : `p = ${Number(p.toPrecision(2))}`;
}

function num(v: number): string {
  return Number.isFinite(v) ? String(Number(v.toPrecision(4))) : String(v);
}
