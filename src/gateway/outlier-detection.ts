/**
 * Passive outlier ejection: what the proxy's answers say about a backend. The balancer
 * (balancer.ts) skips a backend until its `ejectedUntil`; this module decides when to set it.
 *
 * - Connect failures (refused, unreachable, connect timeout) eject at once for
 *   `connect.baseMs`·2^(failures−1), capped: such a replica answers instantly and would otherwise
 *   look idle to a least-loaded policy.
 * - Responses: `consecutiveErrors` answers with status ≥ 500 (the caller leaves out the draining
 *   503, which is retried elsewhere) or upstream headers timeouts in a row eject the backend for
 *   `baseEjectionMs`·2^(n−1), capped at `maxEjectionMs`, n = ejections in a row.
 * - Half-open: once the period is over the backend is picked again; its first answer decides. A
 *   good one (status < 500) readmits it and resets every count; a bad one ejects it again at once,
 *   for twice as long. Answers that arrive while the period runs (requests sent before the
 *   ejection, or by the balancer's all-ejected fallback) change nothing.
 * - Bound: a response ejection never takes out more than `maxEjectedPercent` of a target's
 *   backends (rounded down, but one of two or more is always allowed) nor its last usable one;
 *   a backend held back by the bound keeps its count and is ejected by a later error if room opens.
 *
 * Every ejection and readmission is counted on the target's stats and appended to the
 * {@link EjectionLog}. All of this runs only on a bad answer or on the first good answer after
 * one: the proxy's guard for the good path is two property reads.
 */
import type { CompiledRoute, CompiledTarget } from './compiled-table.js';
import type { EjectionLog } from './ejection-log.js';
import type { RouteOutlierDetection } from '../protocol/route-table.js';
import { CONNECT_FAILURES } from './upstream-errors.js';
import type { UpstreamBackend } from './upstream-pool.js';

/** The gateway's default outlier detection, for routes that set none. */
export const OUTLIER_DEFAULTS: Readonly<RouteOutlierDetection> = {
  consecutiveErrors: 5,
  baseEjectionMs: 5_000,
  maxEjectionMs: 60_000,
  maxEjectedPercent: 50,
};

/** Why a backend was ejected, as the `reason` label of `wharf_gateway_ejections_total`. */
export type EjectionCause = '5xx' | 'timeout' | 'connect';

/** Applies answers and failures to backends' ejection state; one per gateway. */
export class OutlierDetector {
  constructor(
    private readonly events: EjectionLog,
    /** Connect-failure ejection timing (base, doubled per consecutive failure, capped). */
    private readonly connect: { readonly baseMs: number; readonly maxMs: number },
  ) {}

  /**
   * Reads an answer's status line for the backend's health, for the primary and the mirror alike:
   * 5xx counts against it except a draining replica's 503 (`draining`: it refused without running
   * the request, which says nothing about its health); anything else clears what was counted. A
   * healthy backend costs two property reads.
   */
  answered(
    route: CompiledRoute,
    target: CompiledTarget,
    backend: UpstreamBackend,
    status: number,
    draining: boolean,
    now: number,
  ): void {
    if (status >= 500) {
      if (!draining) this.failed(route, target, backend, '5xx', status, now);
    } else if (backend.ejected || backend.errors !== 0) {
      this.succeeded(route, target, backend, status, now);
    }
  }

  /** Reads a failed exchange's error `code` (undici's or the OS's): connect failures and header timeouts count; others say nothing about the backend. */
  erred(route: CompiledRoute, target: CompiledTarget, backend: UpstreamBackend, code: string, now: number): void {
    if (CONNECT_FAILURES.has(code)) this.connectFailed(route, target, backend, code, now);
    else if (code === 'UND_ERR_HEADERS_TIMEOUT') this.failed(route, target, backend, 'timeout', 0, now);
  }

  /**
   * A response with status < 500 from a backend that has errors counted or is ejected (the
   * caller checks `backend.ejected || backend.errors !== 0` first, so a healthy backend costs
   * nothing here).
   */
  succeeded(route: CompiledRoute, target: CompiledTarget, backend: UpstreamBackend, status: number, now: number): void {
    if (backend.ejected) {
      if (now < backend.ejectedUntil) return;
      this.readmit(route, target, backend, `answered ${status} after ejection`);
      return;
    }
    backend.errors = 0;
    backend.timeouts = 0;
  }

  /**
   * A bad answer: `cause` '5xx' with the status, or 'timeout' (no response headers in time).
   * Counts it, and ejects the backend when that makes `consecutiveErrors` in a row, or at once
   * when it was on probation after an ejection.
   */
  failed(
    route: CompiledRoute,
    target: CompiledTarget,
    backend: UpstreamBackend,
    cause: '5xx' | 'timeout',
    status: number,
    now: number,
  ): void {
    const what = cause === 'timeout' ? 'timed out' : `answered ${status}`;
    if (backend.ejected) {
      if (now < backend.ejectedUntil) return;
      backend.failures = 0; // it answered, so it is reachable
      // On probation: the first answer after the period decides, and this one is bad.
      this.eject(route, target, backend, cause, `${what} after ejection`, now);
      return;
    }
    backend.errors++;
    if (cause === 'timeout') backend.timeouts++;
    const n = backend.errors;
    if (n < route.outlier.consecutiveErrors) return;
    const kinds =
      backend.timeouts === 0 ? '5xx responses' : backend.timeouts === n ? 'timeouts' : '5xx responses or timeouts';
    this.eject(route, target, backend, cause, `${n} consecutive ${kinds}`, now);
  }

  /** A connection to the backend could not be opened (`code` as undici or the OS gave it). */
  connectFailed(
    route: CompiledRoute,
    target: CompiledTarget,
    backend: UpstreamBackend,
    code: string,
    now: number,
  ): void {
    backend.failures++;
    const ms = backoff(this.connect.baseMs, this.connect.maxMs, backend.failures);
    if (backend.ejected && now < backend.ejectedUntil) {
      // Already out (the balancer fell back to it: every candidate is ejected). Extend the period
      // quietly: one event per ejection, not one per request while a route's replicas are all down.
      backend.ejectedUntil = now + ms;
      return;
    }
    this.out(route, target, backend, 'connect', `connect failure (${code || 'unknown error'})`, now, ms);
  }

  /** Response ejection, within the target's bound; n = ejections in a row. */
  private eject(
    route: CompiledRoute,
    target: CompiledTarget,
    backend: UpstreamBackend,
    cause: EjectionCause,
    reason: string,
    now: number,
  ): void {
    if (!mayEject(target.backends, backend, route.outlier.maxEjectedPercent, now)) return;
    const { baseEjectionMs, maxEjectionMs } = route.outlier;
    backend.ejections++;
    this.out(route, target, backend, cause, reason, now, backoff(baseEjectionMs, maxEjectionMs, backend.ejections));
  }

  private out(
    route: CompiledRoute,
    target: CompiledTarget,
    backend: UpstreamBackend,
    cause: EjectionCause,
    reason: string,
    now: number,
    ms: number,
  ): void {
    backend.ejected = true;
    backend.ejectedUntil = now + ms;
    backend.errors = 0;
    backend.timeouts = 0;
    const stats = target.stats;
    if (cause === '5xx') stats.ejected5xx++;
    else if (cause === 'timeout') stats.ejectedTimeout++;
    else stats.ejectedConnect++;
    this.events.record({
      environment: route.environment,
      deployment: route.deployment,
      revision: target.revision,
      backend: backend.id,
      type: 'ejected',
      reason,
      durationMs: ms,
    });
  }

  private readmit(route: CompiledRoute, target: CompiledTarget, backend: UpstreamBackend, reason: string): void {
    backend.ejected = false;
    backend.ejectedUntil = 0;
    backend.errors = 0;
    backend.timeouts = 0;
    backend.failures = 0;
    backend.ejections = 0;
    this.events.record({
      environment: route.environment,
      deployment: route.deployment,
      revision: target.revision,
      backend: backend.id,
      type: 'readmitted',
      reason,
    });
  }
}

/** base·2^(n−1) ms, capped at `max`. */
export function backoff(base: number, max: number, n: number): number {
  return Math.min(max, base * 2 ** Math.min(n - 1, 30));
}

/**
 * Whether one more of `backends` may be ejected now (`candidate` is not ejected at the moment):
 * fewer than floor(percent% of them) are out — at least 1 for two or more — and one stays usable.
 */
export function mayEject(
  backends: readonly { readonly ejectedUntil: number }[],
  candidate: object,
  percent: number,
  now: number,
): boolean {
  const n = backends.length;
  if (n < 2) return false;
  const allowed = Math.min(n - 1, Math.max(1, Math.floor((n * percent) / 100)));
  let out = 0;
  for (const b of backends) if (b !== candidate && b.ejectedUntil > now) out++;
  return out < allowed;
}
