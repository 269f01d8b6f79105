/**
 * Forwards one request to a replica over its undici pool and streams the response back.
 *
 * - Request: method, the path remainder as is, and only the headers in {@link FORWARDED_HEADERS}
 *   plus `x-request-id` (generated when absent). The body is buffered up to `maxBodyBytes` (413
 *   beyond) so that it can be sent again on a retry.
 * - Response: status and headers minus hop-by-hop ones, plus `x-wharf-revision` and
 *   `x-request-id` (and `x-wharf-backend`, the replica's internal name, only with `debugHeaders`:
 *   it tells callers about the inside of the deployment); the body is streamed with backpressure.
 * - Retries: only when the attempt failed before any response byte arrived, with an error code in
 *   `RETRYABLE_CODES` (upstream-errors.ts: refused, reset, closed, connect timeout). The next
 *   attempt goes to another replica of the same revision when there is one. Never after a
 *   response started, never after a headers timeout (the model may be running it).
 * - Table swaps: an attempt made after a swap (the body was still arriving, or a retry) is routed
 *   again with the new table; a dispatched attempt finishes on its backend.
 * - Routing: header/cookie match, then sticky key, then the weighted split (route-choice.ts); the
 *   choice is logged for A/B attribution on routes that have a choice to make (assignment-log.ts).
 * - Mirroring: with the first attempt, a copy may go to the route's mirror (mirror.ts); for those
 *   requests only, the response is also reported, chunk by chunk, to the comparison.
 * - Outlier ejection: 5xx answers, headers timeouts and connect failures are reported to the
 *   {@link OutlierDetector}; a healthy backend's good answer costs two property reads.
 * - Scale from zero: a request for a route with `hold` and no target waits in the route's hold
 *   queue (hold-queue.ts) with its body buffered, and is routed with the first table that gives it
 *   a target; a full queue or the hold's timeout answers 503 with `Retry-After`.
 *
 * "Never reached the model" is approximated by "no response byte": a replica that dies after
 * reading a request sees it retried. Inference is a pure function of its input, so that is safe.
 *
 * The per-request object ({@link Exchange}) is the undici dispatch handler itself, so a request
 * allocates one object plus its header list, not a promise chain or a body stream. Routing choice,
 * retries and the relay are the exchange's; the assignment log, mirroring, outlier ejection, the
 * hold and the stats are the route's filters and observers (route-composer.ts), composed when the
 * table is compiled.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { EJECTION_DEFAULTS } from './balancer.js';
import type { CompiledRoute, CompiledTable } from './compiled-table.js';
import { NoReadyReplicaError, sendError } from './errors.js';
import type { HoldQueues } from './hold-queue.js';
import type { GatewayMetrics } from './metrics.js';
import { MIRROR_DEFAULTS, type MirrorOptions } from './mirror.js';
import { Exchange } from './exchange.js';
import { OUTLIER_DEFAULTS } from './outlier-detection.js';
import { DEFAULT_ROUTE_DOMAIN, type RouteOutlierDetection } from '../protocol/route-table.js';
import { chooseTarget } from './route-choice.js';

/** Proxy settings; every default is declared in {@link PROXY_DEFAULTS}. */
export interface ProxyOptions {
  /** Largest request body buffered for forwarding; larger → 413. */
  maxBodyBytes: number;
  /** Attempts per request, the first included (so 2 = at most one retry). */
  maxAttempts: number;
  /** `Retry-After` seconds on 503s. */
  retryAfterSeconds: number;
  /** Passive ejection after connect failures; see outlier-detection.ts. */
  ejection: { baseMs: number; maxMs: number };
  /** Ejection after 5xx answers and timeouts, for routes that set no `outlierDetection`. */
  outlierDetection: RouteOutlierDetection;
  /** Upstream headers timeout, for the 504 message. */
  headersTimeoutMs: number;
  /** Mirroring bounds (shadow releases). */
  mirror: MirrorOptions;
  /** Add `x-wharf-backend` (the replica that answered) to responses: for debugging, off by default. */
  debugHeaders: boolean;
  /**
   * Application routes: the longest wait for a replica's response headers (a long poll) and the
   * longest pause between two chunks of its body (server-sent events), instead of the upstream
   * pools' model-run timeouts.
   */
  applicationTimeoutMs: number;
  /** Application routes: bodies up to this size (with a `Content-Length`) are buffered, so a failed connect can be retried; larger ones stream. */
  bufferBodyBytes: number;
  /** Application routes are also served at `<deployment>.<environment>.<domain>` (the whole path forwarded). */
  domain: string;
}

/** Defaults. */
export const PROXY_DEFAULTS: Readonly<ProxyOptions> = {
  maxBodyBytes: 16 * 1024 * 1024,
  maxAttempts: 2,
  retryAfterSeconds: 1,
  ejection: EJECTION_DEFAULTS,
  outlierDetection: OUTLIER_DEFAULTS,
  headersTimeoutMs: 60_000,
  mirror: MIRROR_DEFAULTS,
  debugHeaders: false,
  applicationTimeoutMs: 300_000,
  bufferBodyBytes: 64 * 1024,
  domain: DEFAULT_ROUTE_DOMAIN,
};

export { CLIENT_CLOSED, FORWARDED_HEADERS } from './exchange.js';

/** Forwards requests; one instance per gateway. */
export class Proxy {
  constructor(
    readonly options: ProxyOptions,
    readonly metrics: GatewayMetrics,
    /** The table in use now: an attempt made after a swap is routed with the new table. */
    readonly currentTable: () => CompiledTable | undefined,
    /** Requests waiting for a first replica (scale from zero); a held request leaves its queue through here. */
    readonly holds: HoldQueues,
  ) {}

  /**
   * Proxies `req` to a replica of `route` (found in `table`); `path` is the remainder after the
   * route prefix (it starts with `/`; the whole path when `byHost`: an application found by its
   * host name). `started` is `performance.now()` at arrival. Always
   * answers `res`, and decrements `metrics.inFlight` exactly once when the exchange ends.
   */
  forward(
    req: IncomingMessage,
    res: ServerResponse,
    table: CompiledTable,
    route: CompiledRoute,
    path: string,
    started: number,
    byHost = false,
  ): void {
    route.routeStats.arrivals++;
    const target = chooseTarget(route, req.headers);
    const requestId = (req.headers['x-request-id'] as string | undefined) || randomUUID();
    // No target and no filter that could hold the request: answered at once, without an exchange.
    if (target === undefined && route.pipeline.filters.length === 0)
      return this.noReadyReplica(res, route, requestId, started);
    new Exchange(this, req, res, table, route, target, path, requestId, started, byHost).begin();
  }

  /** Answers 503 for a route without a target that can take traffic, and ends the request's accounting. */
  noReadyReplica(
    res: ServerResponse,
    route: CompiledRoute,
    requestId: string,
    started: number,
    message = route.noReplicaMessage,
  ): void {
    route.routeStats.noReadyReplica++;
    const status = sendError(res, new NoReadyReplicaError(message), {
      retryAfter: this.options.retryAfterSeconds,
      requestId,
    });
    this.metrics.inFlight--;
    route.unassigned.observe(status, (performance.now() - started) / 1000);
  }
}
