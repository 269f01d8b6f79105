/**
 * The contract between a proxied request and the per-route features around it: request filters
 * (run before the first attempt; they may let the request on, hold it, or answer it themselves:
 * the token check of protected routes, the rate limit and the hold queue of scale from zero) and response observers (told of the route's choice, each attempt, the replica's answer or
 * failure, and the end: stats, outlier ejection, the assignment log, the mirror).
 *
 * Which filters and observers a route has is decided once, when the route table is compiled
 * (route-composer.ts): a route is given frozen arrays holding only what it needs, one per hook, so
 * a route without a mirror pays nothing for mirroring and the request path never asks `if
 * (route.X)`. The {@link Exchange} stays the only per-request object: it passes itself to every
 * hook (as a {@link RoutedRequest}), and the hooks are long-lived objects, not per-request closures.
 * The one exception is a {@link ResponseTap}: an observer that must see the response body (the
 * mirror's comparison) attaches one per request, and only for the requests it samples.
 */
import type { CompiledRoute, CompiledTarget } from './compiled-table.js';
import type { HeldRequest } from './hold-queue.js';
import type { UpstreamBackend } from './upstream-pool.js';

/** What filters and observers read of a request (the Exchange itself). */
export interface RoutedRequest {
  readonly requestId: string;
  readonly method: string;
  /** The path remainder after the route prefix, forwarded as is. */
  readonly path: string;
  /** The flat header list sent to replicas (`x-request-id` and the forwarded headers). */
  readonly headers: readonly string[];
  /** The buffered request body; complete from the first attempt on. */
  readonly body: Buffer | null;
  /** `performance.now()` at arrival. */
  readonly started: number;
  readonly route: CompiledRoute;
  /** Undefined while the route has no target for it (held, or about to be answered 503). */
  readonly target: CompiledTarget | undefined;
  /** Attempts made so far; 1 during the first attempt's {@link DispatchObserver.dispatching}. */
  readonly attempts: number;
  /** Sees the response as it is relayed; at most one per request, attached while the first attempt is dispatched. */
  tap: ResponseTap | undefined;
}

/** A request before its first attempt, as a filter sees it. */
export interface FilteredRequest extends RoutedRequest, HeldRequest {
  /** Set by a filter that put the request in a hold queue: it reads its body but is not dispatched. */
  waiting: boolean;
  /** The client's `authorization` header (never forwarded to replicas). */
  readonly authorization: string | undefined;
  /** The client's address (the socket's peer), what per-client rate limits key on. */
  readonly clientAddress: string;
  /** The id of the bearer token the route's token check accepted; undefined when none was checked. */
  tokenId: string | undefined;
  /**
   * Set by the rate limit once it has counted the request: filters run again after a table swap
   * (the body was still arriving), and a request must take from a bucket only once.
   */
  rateCounted: boolean;
  /** Answers 503 for `route` ("no ready replica" unless `message` says why) and ends the request. */
  noReplica(route: CompiledRoute, message?: string): void;
  /**
   * Answers `error` (its status, the gateway's error body, plus `headers`) and ends the request;
   * it counts as reaching no revision. For filters that refuse a request (401, 403, 429).
   */
  reject(error: Error, headers: RejectHeaders): void;
}

/** Headers a filter may add to its refusal. */
export interface RejectHeaders {
  /** `Retry-After`, in whole seconds. */
  retryAfter?: number;
  /** `WWW-Authenticate` challenge. */
  wwwAuthenticate?: string;
}

/**
 * Runs when a request is routed before its first attempt: on arrival, and again when a table swap
 * routes it anew (its body was still arriving); the new route's filters decide then. `request.target`
 * is undefined when the route has no target for it. Returns false when the filter answered the
 * request (nothing more is done with it); true lets it go on, dispatched unless the filter held it.
 */
export interface RequestFilter {
  admit(request: FilteredRequest): boolean;
}

/** Told which target the request was routed to (on arrival, after a swap, at the end of a hold). */
export interface RoutedObserver {
  routed(request: RoutedRequest, target: CompiledTarget): void;
}

/** Told of each attempt before its replica is picked and it is dispatched (`request.attempts` counts it). */
export interface DispatchObserver {
  dispatching(request: RoutedRequest): void;
}

/**
 * Told of a replica's response headers (status ≥ 200) before they are relayed, except a draining
 * 503 that is retried elsewhere; `draining` is set for one passed on because no attempt is left.
 */
export interface AnswerObserver {
  answered(request: RoutedRequest, backend: UpstreamBackend, status: number, draining: boolean, now: number): void;
}

/** Told of an attempt that failed before any response (`code`: undici's or the OS's error code). */
export interface ErrorObserver {
  erred(request: RoutedRequest, backend: UpstreamBackend, code: string, now: number): void;
}

/**
 * Told that the request is over, with the status the client got (499: it went away), however it
 * ended: relayed, answered by the gateway, or abandoned while held. A 503 for want of a replica
 * ({@link FilteredRequest.noReplica}) is counted by the proxy instead.
 */
export interface EndObserver {
  ended(request: RoutedRequest, status: number, now: number): void;
}

/** A response observer implements the hooks it needs. */
export type ResponseObserver = Partial<
  RoutedObserver & DispatchObserver & AnswerObserver & ErrorObserver & EndObserver
>;

/** The relayed response, for the one observer of a request that must see its body. */
export interface ResponseTap {
  /** The response headers went out with `status`. */
  relayStart(status: number): void;
  /** A chunk of the body, already written to the client (kept by reference, not copied). */
  relayData(chunk: Buffer): void;
  /**
   * The exchange is over: `status` is what the caller got, `complete` when the whole response was
   * relayed, `abandoned` when the client left first; `now` is `performance.now()`.
   */
  relayEnd(status: number, complete: boolean, abandoned: boolean, now: number): void;
}

/** One route's filters and observers, one frozen array per hook. */
export interface RoutePipeline {
  readonly filters: readonly RequestFilter[];
  readonly routed: readonly RoutedObserver[];
  readonly dispatching: readonly DispatchObserver[];
  readonly answered: readonly AnswerObserver[];
  readonly erred: readonly ErrorObserver[];
  readonly ended: readonly EndObserver[];
}

/** Sorts `observers` by the hooks they implement (keeping their order) and freezes the result. */
export function composePipeline(
  filters: readonly RequestFilter[],
  observers: readonly ResponseObserver[],
): RoutePipeline {
  const having = <K extends keyof ResponseObserver>(hook: K) =>
    Object.freeze(observers.filter((o) => o[hook] !== undefined)) as readonly Required<Pick<ResponseObserver, K>>[];
  return Object.freeze({
    filters: Object.freeze([...filters]),
    routed: having('routed'),
    dispatching: having('dispatching'),
    answered: having('answered'),
    erred: having('erred'),
    ended: having('ended'),
  });
}
