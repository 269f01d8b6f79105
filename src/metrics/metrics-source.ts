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

/** One deployment (all revisions), over a window. */
export interface DeploymentWindow {
  readonly environment: string;
  readonly deployment: string;
  readonly windowMs: number;
}

/** A deployment's traffic over a window plus its gauges now: what the autoscaler reads. */
export interface DeploymentTraffic {
  /** Requests that arrived per second (counted on arrival, before any hold or forward). */
  readonly requestRate: number;
  /** Average requests in flight over the window (Little's law: summed latency / window). */
  readonly concurrency: number;
  /** Responses in the window. */
  readonly responses: number;
  readonly coveredMs: number;
  /** When a request was last seen arriving (ms since the epoch), if in the retained history. */
  readonly lastRequestAt?: number;
  /** Gauges summed over gateways at their last sample. */
  readonly inFlight: number;
  readonly held: number;
}

/** See the module comment. */
export interface MetricsSource {
  readonly name: string;
  revision(window: RevisionWindow): Promise<RevisionMetrics>;
  shadow(window: RevisionWindow): Promise<ShadowMetrics>;
  /** A deployment's traffic (autoscaling); absent on sources that cannot. */
  deployment?(window: DeploymentWindow): Promise<DeploymentTraffic>;
  /** Evaluates a PromQL instant query to one number; absent on sources that cannot. */
  query?(promql: string): Promise<number | undefined>;
}
