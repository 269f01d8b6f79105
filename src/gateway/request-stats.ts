/**
 * The numbers the gateway counts per request: plain fields on objects resolved when the route
 * table is compiled (see {@link GatewayMetrics.beginTable}), so the hot path only bumps them; they
 * are read into samples when `/metrics` is scraped (metric-families.ts) and into snapshots.
 */

import type { DenialReason } from './token-check.js';

/** Histogram bounds, in seconds: the gateway adds well under a millisecond, models take more. */
export const LATENCY_BUCKETS: readonly number[] = [
  0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

export type Labels = Readonly<Record<string, string>>;

/** Counters and latency for one (environment, deployment, revision); revision "" = no target chosen. */
export class TargetStats {
  /** Responses by status code. */
  readonly codes = new Map<number, number>();
  /** Non-cumulative bucket counts; the last slot is +Inf. */
  readonly buckets = new Float64Array(LATENCY_BUCKETS.length + 1);
  sum = 0;
  count = 0;
  /** Upstream attempts (first tries and retries). */
  attempts = 0;
  /** Attempts that were retries. */
  retries = 0;
  /** Ejections of this target's backends, by cause (see outlier-detection.ts). */
  ejected5xx = 0;
  ejectedTimeout = 0;
  ejectedConnect = 0;
  /**
   * The target's backends in the table in use (set when a table is committed), read at scrape
   * time for the ejected-backends gauge.
   */
  backends: readonly { readonly ejected: boolean }[] = [];

  constructor(readonly labels: Labels) {}

  /** Records one finished request. */
  observe(code: number, seconds: number): void {
    this.codes.set(code, (this.codes.get(code) ?? 0) + 1);
    let i = 0;
    while (i < LATENCY_BUCKETS.length && seconds > LATENCY_BUCKETS[i]!) i++;
    this.buckets[i]!++;
    this.sum += seconds;
    this.count++;
  }
}

/** Per-route counters and gauges (environment, deployment); see {@link RouteCounters}. */
export class RouteStats {
  /** Requests answered 503 because no target had a ready replica (from the hold too). */
  noReadyReplica = 0;
  /** Requests matched to the route (counted on arrival, before hold or forward). */
  arrivals = 0;
  /** Requests dispatched to a backend and not finished. */
  inFlight = 0;
  /** Requests in the hold queue now. */
  held = 0;
  /** Requests ever held. */
  heldTotal = 0;
  /** Held requests, and requests refused by a full hold queue, answered 503. */
  holdRejected = 0;
  /** Requests refused by the token check, by reason (a protected route). */
  readonly authDenied: Record<DenialReason, number> = {
    missing: 0,
    malformed: 0,
    invalid: 0,
    expired: 0,
    forbidden: 0,
  };
  /** Requests answered 429 by the route's rate limit. */
  rateLimited = 0;
  /** Set when a table is committed: the route is protected / rate-limited (its access series are exported, zeros included). */
  protectedRoute = false;
  limitedRoute = false;
  constructor(readonly labels: Labels) {}
}

/** Counters of one mirrored (environment, deployment, revision); see {@link ShadowCounters}. */
export class ShadowStats {
  mirrored = 0;
  dropped = 0;
  compared = 0;
  agreed = 0;
  numericElements = 0;
  absDiffSum = 0;
  primaryLatencySum = 0;
  shadowLatencySum = 0;
  primaryErrors = 0;
  shadowErrors = 0;
  /** Mirrored requests not settled yet (mirror answering, or their comparison pending): the drop bound reads it. */
  inFlight = 0;

  constructor(readonly labels: Labels) {}
}
