/**
 * The MetricsSource interface: what the rollout analysis (and later the autoscaler) reads about a
 * revision's live traffic. Two implementations: the built-in one, computed from gateway snapshots
 * (no Prometheus needed), and Prometheus, which answers PromQL.
 */

/** Which revision, over which trailing window. */
export interface RevisionWindow {
  readonly environment: string;
  readonly deployment: string;
  readonly revision: number;
  /** The trailing window, in milliseconds, ending now. */
  readonly windowMs: number;
}

/** A revision's traffic over a window. Ratios and quantiles are undefined when there were no requests. */
export interface RevisionMetrics {
  /** Responses in the window. */
  readonly requests: number;
  /** Responses with status ≥ 500 (including the gateway's 502/503/504). */
  readonly errors: number;
  /** (requests − errors) / requests. */
  readonly successRate: number | undefined;
  /** Latency quantiles in seconds, interpolated within histogram buckets. */
  readonly p50: number | undefined;
  readonly p95: number | undefined;
  readonly p99: number | undefined;
  /** Requests per second over the window. */
  readonly requestRate: number;
  /** The window actually covered (shorter than asked right after start). */
  readonly coveredMs: number;
}

/** Shadow comparison of a mirrored revision over a window. */
export interface ShadowMetrics {
  readonly mirrored: number;
  readonly dropped: number;
  readonly compared: number;
  /** agreed / compared. */
  readonly agreementRate: number | undefined;
  /** Mean absolute difference over numeric output elements. */
  readonly meanAbsoluteDifference: number | undefined;
  /** Mean mirror latency minus mean primary latency, seconds, over compared pairs. */
  readonly latencyDeltaSeconds: number | undefined;
  /** Error ratio of the mirror minus that of the primary over mirrored requests. */
  readonly errorRateDelta: number | undefined;
}

/** See the module comment. */
export interface MetricsSource {
  readonly name: string;
  revision(window: RevisionWindow): Promise<RevisionMetrics>;
  shadow(window: RevisionWindow): Promise<ShadowMetrics>;
  /** Evaluates a PromQL instant query to one number; absent on sources that cannot. */
  query?(promql: string): Promise<number | undefined>;
}
