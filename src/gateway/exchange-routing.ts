/**
 * The routing half of a proxied request; exchange.ts has the other (the attempts and the relayed
 * response), and the {@link Exchange} subclass is still the one object a request allocates. This
 * half holds the table, route and target the request was routed with, runs the route's request
 * filters and tells its `routed` observers (route-pipeline.ts), routes again after a table swap,
 * and is the request's side of a hold queue ({@link HeldRequest}: retried with each new table,
 * expired, aborted).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { CompiledRoute, CompiledTable, CompiledTarget } from './compiled-table.js';
import { GatewayUnavailableError, NoReadyReplicaError, RouteNotFoundError } from './errors.js';
import type { RouteStats } from './request-stats.js';
import type { Proxy } from './proxy.js';
import type { FilteredRequest, RejectHeaders, ResponseTap } from './route-pipeline.js';
import { chooseTarget } from './route-choice.js';
import { applicationHeaders, FORWARDED_HEADERS } from './forwarded-headers.js';
import type { UpstreamBackend } from './upstream-pool.js';

export { FORWARDED_HEADERS } from './forwarded-headers.js';

/** A request's routing state and its life in a hold queue; see the module comment. */
export abstract class RoutedExchange implements FilteredRequest {
  /** In a hold queue, waiting for a table that gives the route a target. */
  waiting = false;
  readonly headers: string[];
  body: Buffer | null = null;
  attempts = 0;
  tap: ResponseTap | undefined;
  tokenId: string | undefined;
  rateCounted = false;
  /** The body is still arriving (the first attempt waits for it). */
  protected bodyPending = false;
  /** `performance.now()` for the first pick of a backend: arrival, or the end of the hold. */
  protected pickTime: number;
  /** The route stats whose `inFlight` this request counts in, once dispatched. */
  protected counted: RouteStats | undefined;
  protected done = false;
  protected clientGone = false;

  constructor(
    protected readonly proxy: Proxy,
    protected readonly req: IncomingMessage,
    protected readonly res: ServerResponse,
    protected table: CompiledTable,
    public route: CompiledRoute,
    /** Undefined while held. */
    public target: CompiledTarget | undefined,
    readonly path: string,
    readonly requestId: string,
    readonly started: number,
    /** Routed by its `Host` (an application's host name): no prefix was stripped. */
    byHost = false,
  ) {
    if (route.application) {
      const prefix = byHost ? undefined : route.prefix;
      this.headers = applicationHeaders(req, { requestId, protectedRoute: route.protectedRoute, prefix });
    } else {
      const headers = ['x-request-id', requestId];
      const incoming = req.headers;
      for (const name of FORWARDED_HEADERS) {
        const value = incoming[name];
        if (value !== undefined) headers.push(name, value as string);
      }
      this.headers = headers;
    }
    this.pickTime = started;
    res.once('close', () => this.onClientClose());
  }

  get method(): string {
    return this.req.method!;
  }

  get authorization(): string | undefined {
    return this.req.headers.authorization;
  }

  get clientAddress(): string {
    return this.req.socket.remoteAddress ?? '';
  }

  /** See {@link FilteredRequest.reject}. */
  abstract reject(error: Error, headers: RejectHeaders): void;

  /** Sends the request to a replica of the target, avoiding `avoid` (the one that just failed). */
  abstract attempt(avoid: UpstreamBackend | undefined): void;
  /** Answers `err` (unless the exchange is over) and ends the request. */
  protected abstract fail(err: Error, closeConnection: boolean, retryAfter?: number): void;
  protected abstract onClientClose(): void;

  /** Runs the route's request filters; false when one of them answered the request. */
  protected filtered(): boolean {
    const filters = this.route.pipeline.filters;
    for (let i = 0; i < filters.length; i++) if (!filters[i]!.admit(this)) return false;
    return true;
  }

  /** Tells the route's `routed` observers (the assignment log) where the request goes. */
  protected routed(target: CompiledTarget): void {
    const observers = this.route.pipeline.routed;
    for (let i = 0; i < observers.length; i++) observers[i]!.routed(this, target);
  }

  /** Re-resolves route and target in the current table; answers 404/503 and returns false when that fails (or holds the request). */
  protected reroute(): boolean {
    const table = this.proxy.currentTable()!;
    const route = table.routes.get(this.route.prefix);
    if (route === undefined) {
      const { environment, deployment } = this.route;
      this.fail(
        new RouteNotFoundError(
          `no route for deployment '${deployment}' in environment '${environment}' (removed while the request arrived)`,
        ),
        false,
      );
      return false;
    }
    const target = chooseTarget(route, this.req.headers);
    if (this.attempts === 0) {
      // Nothing dispatched yet: the new route's filters decide. A route that holds keeps a request
      // that finds no target (it lost its replicas while the body arrived: scaled to zero).
      this.table = table;
      this.route = route;
      this.target = target;
      if (!this.filtered() || this.waiting) return false;
    }
    if (target === undefined) {
      this.table = table;
      this.route = route;
      this.noReplica(route);
      return false;
    }
    this.routeTo(table, route, target);
    return true;
  }

  /** The request goes to `target` of `route` (in `table`). */
  private routeTo(table: CompiledTable, route: CompiledRoute, target: CompiledTarget): void {
    this.table = table;
    this.route = route;
    this.target = target;
    this.routed(target);
  }

  /** Held, and a new table is in use: forwarded when it gives the route a target; see {@link HeldRequest.retry}. */
  retry(table: CompiledTable, route: CompiledRoute | undefined): boolean {
    if (route === undefined) {
      const { environment, deployment } = this.route;
      this.leaveHold();
      this.fail(
        new RouteNotFoundError(
          `no route for deployment '${deployment}' in environment '${environment}' (removed while the request was held)`,
        ),
        this.bodyPending,
      );
      return true;
    }
    const target = chooseTarget(route, this.req.headers);
    if (target === undefined) {
      if (route.hold !== undefined) return false;
      // The route no longer holds (scale to zero turned off): answer as a route without replicas.
      this.leaveHold();
      this.noReplica(route);
      return true;
    }
    this.leaveHold();
    this.routeTo(table, route, target);
    this.pickTime = performance.now();
    if (!this.bodyPending) this.attempt(undefined);
    return true;
  }

  /** Held for the whole `hold.timeoutMs`: 503 with Retry-After. */
  expire(): void {
    this.leaveHold();
    const stats = this.route.routeStats;
    stats.holdRejected++;
    stats.noReadyReplica++;
    this.fail(
      new NoReadyReplicaError(this.route.holdTimeoutMessage),
      this.bodyPending,
      this.proxy.options.retryAfterSeconds,
    );
  }

  /** The gateway stops while the request is held: 503 with Retry-After. */
  abort(): void {
    this.leaveHold();
    this.fail(new GatewayUnavailableError('the gateway is stopping'), true, this.proxy.options.retryAfterSeconds);
  }

  /** Answers 503 ("no ready replica" unless `message` says why) for `route`, ending the request's accounting there instead of in `finish`. */
  noReplica(route: CompiledRoute, message?: string): void {
    this.done = true;
    if (this.counted !== undefined) this.counted.inFlight--;
    this.tap?.relayEnd(503, false, this.clientGone, performance.now());
    this.proxy.noReadyReplica(this.res, route, this.requestId, this.started, message);
  }

  protected leaveHold(): void {
    if (!this.waiting) return;
    this.waiting = false;
    this.proxy.holds.remove(this, this.route.prefix);
  }
}
