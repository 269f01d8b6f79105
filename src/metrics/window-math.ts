/**
 * The arithmetic behind the built-in metrics source, with no clock and no I/O: how much cumulative
 * gateway counters grew between samples (counter resets included), latency quantiles interpolated
 * inside histogram buckets the way Prometheus' `histogram_quantile` does, and the windowed figures
 * of the {@link MetricsSource} interface computed from those increases.
 *
 * Increases are taken between every two consecutive samples of a gateway, like Prometheus'
 * `increase()`: a counter that went down between two samples means its gateway restarted, so the
 * newer value is all growth since the restart. Looking only at the two ends of a window would miss
 * a restart followed by enough traffic to climb past the old value. Increases then simply add up,
 * which is what lets the source store them sparsely and merge old ones.
 */
import type { RevisionCounters, ShadowCounters } from '../protocol/gateway-snapshot.js';
import type { ShadowCounterField } from '../protocol/metric-names.js';
import type { RevisionMetrics, ShadowMetrics } from './metrics-source.js';

/** How much one revision's counters grew over a window. */
export interface RevisionIncrease {
  /** Responses by status code. */
  codes: Record<string, number>;
  /** Cumulative bucket increases, aligned with the bucket bounds plus a last +Inf slot. */
  buckets: number[];
  latencySum: number;
  count: number;
}

/** How much one mirrored revision's shadow counters grew (the numeric fields of ShadowCounters). */
export type ShadowIncrease = Record<ShadowField, number>;

/** The numeric fields of {@link ShadowCounters}. */
export type ShadowField = ShadowCounterField;

/** Every numeric field of {@link ShadowCounters}, in a fixed order. */
export const SHADOW_FIELDS: readonly ShadowField[] = [
  'mirrored',
  'dropped',
  'compared',
  'agreed',
  'numericElements',
  'absDiffSum',
  'primaryLatencySum',
  'shadowLatencySum',
  'primaryErrors',
  'shadowErrors',
];

/** An empty increase for a histogram with `bounds` finite buckets. */
export function emptyRevisionIncrease(bounds: number): RevisionIncrease {
  return { codes: {}, buckets: new Array<number>(bounds + 1).fill(0), latencySum: 0, count: 0 };
}

/** An all-zero shadow increase. */
export function emptyShadowIncrease(): ShadowIncrease {
  return Object.fromEntries(SHADOW_FIELDS.map((f) => [f, 0])) as ShadowIncrease;
}

/**
 * Whether `newer` shows a counter reset relative to `older`: any counter went down. The whole
 * series is then read as restarted, so its buckets, sum and codes stay consistent with each other.
 */
function revisionReset(older: RevisionCounters, newer: RevisionCounters): boolean {
  if (newer.count < older.count || newer.latencySum < older.latencySum) return true;
  for (const [code, n] of Object.entries(older.codes)) if ((newer.codes[code] ?? 0) < n) return true;
  return older.buckets.some((n, i) => (newer.buckets[i] ?? 0) < n);
}

/**
 * Adds to `into` what a revision's counters grew from `older` to `newer`. A series absent from
 * the older sample was born after it (gateways create counters at zero when a revision enters the
 * route table), so all of its value is growth.
 */
export function addRevisionIncrease(
  into: RevisionIncrease,
  older: RevisionCounters | undefined,
  newer: RevisionCounters,
): void {
  const base = older === undefined || revisionReset(older, newer) ? undefined : older;
  for (const [code, n] of Object.entries(newer.codes))
    into.codes[code] = (into.codes[code] ?? 0) + n - (base?.codes[code] ?? 0);
  for (let i = 0; i < into.buckets.length; i++) into.buckets[i]! += (newer.buckets[i] ?? 0) - (base?.buckets[i] ?? 0);
  into.latencySum += newer.latencySum - (base?.latencySum ?? 0);
  into.count += newer.count - (base?.count ?? 0);
}

/** Adds increase `other` to `into` (same bucket layout). */
export function mergeRevisionIncrease(into: RevisionIncrease, other: RevisionIncrease): void {
  for (const [code, n] of Object.entries(other.codes)) into.codes[code] = (into.codes[code] ?? 0) + n;
  for (let i = 0; i < into.buckets.length; i++) into.buckets[i]! += other.buckets[i] ?? 0;
  into.latencySum += other.latencySum;
  into.count += other.count;
}

/** Adds shadow increase `other` to `into`. */
export function mergeShadowIncrease(into: ShadowIncrease, other: ShadowIncrease): void {
  for (const f of SHADOW_FIELDS) into[f] += other[f];
}

/** Whether nothing grew (such increases are not stored). */
export function isZeroRevisionIncrease(d: RevisionIncrease): boolean {
  return d.count === 0 && d.latencySum === 0 && Object.values(d.codes).every((n) => n === 0);
}

/** Whether no shadow counter grew. */
export function isZeroShadowIncrease(d: ShadowIncrease): boolean {
  return SHADOW_FIELDS.every((f) => d[f] === 0);
}

/** Adds to `into` what a mirrored revision's shadow counters grew from `older` to `newer` (resets as above). */
export function addShadowIncrease(
  into: ShadowIncrease,
  older: ShadowCounters | undefined,
  newer: ShadowCounters,
): void {
  const reset = older !== undefined && SHADOW_FIELDS.some((f) => newer[f] < older[f]);
  const base = reset ? undefined : older;
  for (const f of SHADOW_FIELDS) into[f] += newer[f] - (base?.[f] ?? 0);
}

/**
 * The `q`-quantile (0 ≤ q ≤ 1) of a histogram, as Prometheus' `histogram_quantile` computes it:
 * find the bucket holding rank q·count and interpolate linearly inside it; the first bucket starts
 * at 0; a rank in the +Inf bucket returns the highest finite bound. Undefined with no observations.
 *
 * @param bounds upper bounds of the finite buckets, ascending
 * @param cumulative cumulative counts per bucket, `bounds.length + 1` long (the last is +Inf = count)
 *
 * @example
 *   histogramQuantile(0.5, [0.1, 0.2], [0, 10, 10]) // 0.15: the median sits halfway into (0.1, 0.2]
 */
export function histogramQuantile(
  q: number,
  bounds: readonly number[],
  cumulative: readonly number[],
): number | undefined {
  const total = cumulative[bounds.length] ?? 0;
  if (!(total > 0) || bounds.length === 0) return undefined;
  // Cumulative counts must not decrease; floating-point noise from summed differences could make
  // them do so by a hair, which Prometheus also smooths away.
  const counts: number[] = [];
  for (let i = 0; i <= bounds.length; i++) counts.push(Math.max(cumulative[i] ?? 0, counts[i - 1] ?? 0));
  const rank = q * total;
  let b = 0;
  while (b < bounds.length && counts[b]! < rank) b++;
  if (b === bounds.length) return bounds[bounds.length - 1];
  const upper = bounds[b]!;
  const lower = b === 0 ? Math.min(0, upper) : bounds[b - 1]!;
  const below = b === 0 ? 0 : counts[b - 1]!;
  const inBucket = counts[b]! - below;
  if (inBucket <= 0) return upper;
  return lower + (upper - lower) * ((rank - below) / inBucket);
}

/** The interface's revision figures from an increase over `coveredMs`. */
export function revisionMetrics(
  increase: RevisionIncrease,
  bounds: readonly number[],
  coveredMs: number,
): RevisionMetrics {
  let requests = 0;
  let errors = 0;
  for (const [code, n] of Object.entries(increase.codes)) {
    requests += n;
    if (Number(code) >= 500) errors += n;
  }
  const quantile = (q: number): number | undefined => histogramQuantile(q, bounds, increase.buckets);
  return {
    requests,
    errors,
    successRate: requests > 0 ? (requests - errors) / requests : undefined,
    p50: quantile(0.5),
    p95: quantile(0.95),
    p99: quantile(0.99),
    requestRate: coveredMs > 0 ? requests / (coveredMs / 1000) : 0,
    coveredMs,
  };
}

/** The interface's shadow figures from an increase. */
export function shadowMetrics(d: ShadowIncrease): ShadowMetrics {
  const ratio = (a: number, b: number): number | undefined => (b > 0 ? a / b : undefined);
  return {
    mirrored: d.mirrored,
    dropped: d.dropped,
    compared: d.compared,
    agreementRate: ratio(d.agreed, d.compared),
    meanAbsoluteDifference: ratio(d.absDiffSum, d.numericElements),
    latencyDeltaSeconds: d.compared > 0 ? (d.shadowLatencySum - d.primaryLatencySum) / d.compared : undefined,
    errorRateDelta: ratio(d.shadowErrors - d.primaryErrors, d.mirrored),
  };
}
