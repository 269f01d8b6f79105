/**
 * What a gateway has counted so far, as plain cumulative numbers: the built-in metrics source
 * (`src/metrics/`) samples snapshots over time and takes differences to get windowed rates,
 * success ratios and latency quantiles per revision, with no Prometheus needed. Every counter only
 * grows for the life of the gateway process (a restart starts from zero, which readers detect as a
 * decrease and treat as a reset).
 */

/** Counters of one (environment, deployment, revision). `revision` '' = requests that got no target. */
export interface RevisionCounters {
  readonly environment: string;
  readonly deployment: string;
  readonly revision: string;
  /** Responses by HTTP status code (as a string), including the gateway's own 5xx. */
  readonly codes: Readonly<Record<string, number>>;
  /** Cumulative latency histogram counts, aligned with `GatewaySnapshot.latencyBuckets` plus a last +Inf slot. */
  readonly buckets: readonly number[];
  /** Sum of latencies in seconds. */
  readonly latencySum: number;
  /** Responses counted (the +Inf bucket). */
  readonly count: number;
}

/** Comparison counters of one mirrored revision against the primary responses of its route. */
export interface ShadowCounters {
  readonly environment: string;
  readonly deployment: string;
  /** The revision receiving mirrored copies. */
  readonly revision: number;
  /** Copies sent to the mirror. */
  readonly mirrored: number;
  /** Copies not sent because too many were already in flight (protects the primary). */
  readonly dropped: number;
  /** Pairs where both answered, so they could be compared. */
  readonly compared: number;
  /** Compared pairs whose outputs agreed (same names, shapes, datatypes; values within tolerance). */
  readonly agreed: number;
  /** Numeric output elements compared, and the sum of their absolute differences. */
  readonly numericElements: number;
  readonly absDiffSum: number;
  /** Sums of latencies (seconds) over the compared pairs, primary and mirror. */
  readonly primaryLatencySum: number;
  readonly shadowLatencySum: number;
  /** Mirrored requests whose primary / mirror response was an error (status ≥ 500 or no response). */
  readonly primaryErrors: number;
  readonly shadowErrors: number;
}

/** A gateway's counters at one moment. */
export interface GatewaySnapshot {
  /** `Date.now()` when taken. */
  readonly time: number;
  /** Upper bounds (seconds) of the latency histogram buckets. */
  readonly latencyBuckets: readonly number[];
  readonly revisions: readonly RevisionCounters[];
  readonly shadows: readonly ShadowCounters[];
}
