/**
 * The gateway's request filters and response observers (see route-pipeline.ts for the contract),
 * and the composer that gives each route, when its table is compiled, only those it needs:
 *
 * - every route: its stats (attempts, retries, status and latency) and outlier ejection (what the
 *   replica's answers and failures say about it; outlier-detection.ts);
 * - routes with a choice to make (rules, or a split of two or more): the assignment log for A/B
 *   attribution (assignment-log.ts);
 * - routes with a mirror that can take copies: the mirror (mirror.ts), one observer per route that
 *   holds the route's compiled mirror;
 * - protected routes (`auth`): the bearer-token check, first; routes with `rateLimit`: the token
 *   buckets, after it so that per-token buckets key on a verified token (access-filters.ts); the
 *   buckets of a route outlive table swaps while its limit stays the same;
 * - routes with `hold`: the hold queue admission of scale from zero (hold-queue.ts), last.
 *
 * The shared observers are one instance per gateway, so composing allocates nothing per request.
 */
import type { AssignmentLog } from './assignment-log.js';
import type { CompiledMirror, CompiledTarget } from './compiled-table.js';
import type { HoldQueues } from './hold-queue.js';
import type { Mirrors } from './mirror.js';
import type { OutlierDetector } from './outlier-detection.js';
import { RateLimitFilter, sameLimit, TokenFilter } from './access-filters.js';
import type { RouteAuth, RouteHold, RouteRateLimit } from '../protocol/route-table.js';
import { type LimiterClock, TokenBuckets } from './rate-limiter.js';
import { RouteTokenCheck, type TokenDirectory } from './token-check.js';
import {
  type AnswerObserver,
  composePipeline,
  type DispatchObserver,
  type EndObserver,
  type ErrorObserver,
  type FilteredRequest,
  type RequestFilter,
  type ResponseObserver,
  type RoutedObserver,
  type RoutedRequest,
  type RoutePipeline,
} from './route-pipeline.js';
import type { UpstreamBackend } from './upstream-pool.js';

/** What decides a route's pipeline, as compiled-table.ts resolved it. */
export interface RouteFeatures {
  readonly hold: RouteHold | undefined;
  readonly mirror: CompiledMirror | undefined;
  readonly logsAssignments: boolean;
  /** Who may call the route and how often; absent (or without `auth` and `rateLimit`) for an open, unlimited route. */
  readonly access?: RouteAccess;
}

/** What decides a route's access filters. */
export interface RouteAccess {
  /** `/<environment>/<deployment>`: what the route's rate-limit buckets are kept under. */
  readonly prefix: string;
  readonly environment: string;
  readonly deployment: string;
  readonly auth: RouteAuth | undefined;
  /** Every token of the table, for telling a token of another route (403) from an invalid one (401). */
  readonly tokens: TokenDirectory;
  readonly rateLimit: RouteRateLimit | undefined;
}

/** The gateway-wide parts the observers report to. */
export interface ComposerParts {
  readonly outliers: OutlierDetector;
  readonly assignments: AssignmentLog;
  readonly mirrors: Mirrors;
  readonly holds: HoldQueues;
  /** The rate limits' clock (ms); `performance` unless a test passes its own. */
  readonly limiterClock?: LimiterClock;
}

/** Builds route pipelines; one per gateway. */
export class RouteComposer {
  private readonly stats = new StatsObserver();
  private readonly outliers: OutlierObserver;
  private readonly assignments: AssignmentObserver;
  private readonly hold: HoldAdmission;
  /** Each rate-limited route's buckets, by prefix: kept across tables while the limit is unchanged. */
  private buckets = new Map<string, TokenBuckets>();

  constructor(private readonly parts: ComposerParts) {
    this.outliers = new OutlierObserver(parts.outliers);
    this.assignments = new AssignmentObserver(parts.assignments);
    this.hold = new HoldAdmission(parts.holds);
  }

  /** The filters and observers of a route with `features`. */
  compose(features: RouteFeatures): RoutePipeline {
    const filters: RequestFilter[] = [];
    const access = features.access;
    if (access?.auth !== undefined)
      filters.push(new TokenFilter(access, new RouteTokenCheck(access.auth, access.tokens)));
    if (access?.rateLimit !== undefined)
      filters.push(new RateLimitFilter(access, this.bucketsFor(access.prefix, access.rateLimit)));
    if (features.hold !== undefined) filters.push(this.hold);
    const observers: ResponseObserver[] = [this.stats, this.outliers];
    if (features.logsAssignments) observers.push(this.assignments);
    if (features.mirror !== undefined) observers.push(new MirrorObserver(this.parts.mirrors, features.mirror));
    return composePipeline(filters, observers);
  }

  /** After a table is installed: forgets the buckets of routes it no longer rate-limits. */
  retain(limited: ReadonlyMap<string, RouteRateLimit>): void {
    const kept = new Map<string, TokenBuckets>();
    for (const [prefix, limit] of limited) {
      const buckets = this.buckets.get(prefix);
      if (buckets !== undefined && sameLimit(buckets.limit, limit)) kept.set(prefix, buckets);
    }
    this.buckets = kept;
  }

  private bucketsFor(prefix: string, limit: RouteRateLimit): TokenBuckets {
    const known = this.buckets.get(prefix);
    if (known !== undefined && sameLimit(known.limit, limit)) return known;
    const buckets = new TokenBuckets(limit, this.parts.limiterClock);
    this.buckets.set(prefix, buckets);
    return buckets;
  }
}

/** Counts attempts and retries, and each request's status and latency, on its target's stats. */
class StatsObserver implements DispatchObserver, EndObserver {
  dispatching(request: RoutedRequest): void {
    const stats = request.target!.stats;
    stats.attempts++;
    if (request.attempts > 1) stats.retries++;
  }

  ended(request: RoutedRequest, status: number, now: number): void {
    // A request that never got a target (held, then answered) counts as revision "".
    (request.target?.stats ?? request.route.unassigned).observe(status, (now - request.started) / 1000);
  }
}

/** Tells the outlier detector what the request's replica answered, or how it failed. */
class OutlierObserver implements AnswerObserver, ErrorObserver {
  constructor(private readonly detector: OutlierDetector) {}

  answered(request: RoutedRequest, backend: UpstreamBackend, status: number, draining: boolean, now: number): void {
    this.detector.answered(request.route, request.target!, backend, status, draining, now);
  }

  erred(request: RoutedRequest, backend: UpstreamBackend, code: string, now: number): void {
    this.detector.erred(request.route, request.target!, backend, code, now);
  }
}

/** Logs which target a request was routed to, by request id (A/B attribution). */
class AssignmentObserver implements RoutedObserver {
  constructor(private readonly log: AssignmentLog) {}

  routed(request: RoutedRequest, target: CompiledTarget): void {
    this.log.record(request.requestId, target.assignment);
  }
}

/** Sends a sampled copy of a route's requests to its mirror, and taps the primary's response for the comparison. */
class MirrorObserver implements DispatchObserver {
  constructor(
    private readonly mirrors: Mirrors,
    private readonly mirror: CompiledMirror,
  ) {}

  dispatching(request: RoutedRequest): void {
    // Mirrored once, with the first attempt: a retry resends to the primary only. A request routed
    // to the mirrored revision itself is not copied.
    if (request.attempts !== 1 || request.target === this.mirror.target) return;
    request.tap = this.mirrors.start(request.route, this.mirror, request);
  }
}

/**
 * Scale from zero: a request that finds no target waits in the route's hold queue, or is answered
 * 503 when the queue is full or the gateway is stopping.
 */
class HoldAdmission implements RequestFilter {
  constructor(private readonly holds: HoldQueues) {}

  admit(request: FilteredRequest): boolean {
    if (request.target !== undefined) return true;
    const { route } = request;
    const holds = this.holds;
    if (!holds.closed && !holds.isFull(route)) {
      request.waiting = true;
      holds.add(route, request);
      return true;
    }
    route.routeStats.holdRejected++;
    request.noReplica(route, holds.closed ? 'the gateway is stopping' : route.holdFullMessage);
    return false;
  }
}
