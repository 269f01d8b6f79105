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

/** Gauges and counters of one route (environment, deployment), for autoscaling. */
export interface RouteCounters {
  readonly environment: string;
  readonly deployment: string;
  /** Requests being forwarded now (dispatched to a backend, response not finished). */
  readonly inFlight: number;
  /** Requests held now, waiting for a first backend (scale from zero). */
  readonly held: number;
  /** Requests ever held, and those that were answered 503 from the hold (queue full or timeout). */
  readonly heldTotal: number;
  readonly holdRejected: number;
  /** Requests that arrived for this route (cumulative; counted on arrival, not completion). */
  readonly arrivals: number;
}

/** One ejection of a backend from rotation, or its return. */
export interface EjectionEvent {
  /** Increases by one per event over the gateway's life: readers ask for events after the last seen. */
  readonly seq: number;
  /** `Date.now()`. */
  readonly time: number;
  readonly environment: string;
  readonly deployment: string;
  readonly revision: number;
  /** The backend id as in the route table. */
  readonly backend: string;
  readonly type: 'ejected' | 'readmitted';
  /** E.g. `5 consecutive 5xx responses`, `connect failure (ECONNREFUSED)`, `answered 200 after ejection`. */
  readonly reason: string;
  /** For `ejected`: how long it is out. */
  readonly durationMs?: number;
}

/** A gateway's counters at one moment. */
export interface GatewaySnapshot {
  /** `Date.now()` when taken. */
  readonly time: number;
  /** Upper bounds (seconds) of the latency histogram buckets. */
  readonly latencyBuckets: readonly number[];
  readonly revisions: readonly RevisionCounters[];
  readonly shadows: readonly ShadowCounters[];
  /** Per route; absent from gateways older than autoscaling. */
  readonly routes?: readonly RouteCounters[];
  /** The most recent ejection events (bounded, oldest first). */
  readonly ejections?: readonly EjectionEvent[];
}
