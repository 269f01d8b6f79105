/**
 * Replica choice: power of two choices on outstanding requests, with passive ejection.
 *
 * P2C samples two distinct replicas at random and takes the one with fewer requests in flight. It
 * needs no shared sorted structure, spreads load almost as well as least-outstanding, and avoids
 * the herd effect of always picking the single least-loaded replica. The state it reads
 * ({@link Balanced}) lives on the backend object, which the upstream pools keep per backend id
 * across table swaps, so a swap does not forget how busy a replica is.
 *
 * A replica that refuses connections answers instantly and so always looks idle; without ejection
 * a least-loaded policy would send it most of the traffic. An ejected replica (after connect
 * failures, or repeated 5xx answers or timeouts: outlier-detection.ts decides) is skipped until
 * its `ejectedUntil` unless every candidate is ejected.
 */

/** What the balancer reads and writes on a backend. */
export interface Balanced {
  /** Requests dispatched to this backend and not yet finished. */
  outstanding: number;
  /** `performance.now()` time until which the backend is skipped; 0 when it is not ejected. */
  ejectedUntil: number;
  /** Consecutive connect failures (0 after any answer). */
  failures: number;
  /** Consecutive bad answers (status ≥ 500 or headers timeout) since the last good one. */
  errors: number;
  /** How many of `errors` were timeouts (for the ejection's reason). */
  timeouts: number;
  /** Response ejections in a row (the backoff exponent); 0 after a readmission. */
  ejections: number;
  /**
   * Ejected and not readmitted since: out of rotation until `ejectedUntil`, then on probation
   * until its next answer decides.
   */
  ejected: boolean;
}

/** Connect-failure ejection timing: base duration, doubled per consecutive failure, capped. */
export const EJECTION_DEFAULTS = {
  baseMs: 1_000,
  maxMs: 10_000,
} as const;

/**
 * Picks a backend for one attempt: two distinct random candidates, the one with fewer outstanding
 * requests wins; ejected backends and `avoid` (the backend that just failed) are skipped while any
 * other candidate remains. Returns undefined only for an empty list.
 *
 * @param now `performance.now()` of the request (the caller has it already).
 * @example
 *   const backend = pickBackend(target.backends, performance.now());
 */
export function pickBackend<T extends Balanced>(backends: readonly T[], now: number, avoid?: T): T | undefined {
  const n = backends.length;
  if (n <= 1) return backends[0];
  const i = Math.floor(Math.random() * n);
  let j = Math.floor(Math.random() * (n - 1));
  if (j >= i) j++;
  const a = backends[i]!;
  const b = backends[j]!;
  const aOk = a !== avoid && a.ejectedUntil <= now;
  const bOk = b !== avoid && b.ejectedUntil <= now;
  if (aOk && bOk) return b.outstanding < a.outstanding ? b : a;
  if (aOk) return a;
  if (bOk) return b;
  return leastOutstanding(backends, now, avoid);
}

/** Rare path: both samples were unusable; scan for the best usable backend, else any. */
function leastOutstanding<T extends Balanced>(backends: readonly T[], now: number, avoid: T | undefined): T {
  let best: T | undefined;
  let fallback: T | undefined;
  for (const candidate of backends) {
    if (candidate === avoid) continue;
    if (candidate.ejectedUntil <= now) {
      if (!best || candidate.outstanding < best.outstanding) best = candidate;
    } else if (!fallback || candidate.ejectedUntil < fallback.ejectedUntil) {
      // Among ejected backends, the one whose ejection ends first is the likeliest to be back.
      fallback = candidate;
    }
  }
  return best ?? fallback ?? avoid ?? backends[0]!;
}
