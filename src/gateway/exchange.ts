/**
 * One proxied request (see proxy.ts for the rules it follows): reads the body, makes the attempts,
 * relays the response, waits in a hold queue when its route has no replica yet. It is the undici
 * dispatch handler itself, so a request allocates one object plus its header list.
 */
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Dispatcher } from 'undici';
import { InvalidArgumentError, PayloadTooLargeError } from '../core/errors.js';
import { pickBackend } from './balancer.js';
import type { CompiledRoute, CompiledTable, CompiledTarget } from './compiled-table.js';
import {
  GatewayUnavailableError,
  NoReadyReplicaError,
  RouteNotFoundError,
  sendError,
  UpstreamUnavailableError,
} from './errors.js';
import type { HeldRequest } from './hold-queue.js';
import type { RouteStats } from './metrics.js';
import { DRAINING_HEADER } from '../protocol/headers.js';
import type { ShadowExchange } from './mirror.js';
import { removeHopByHop } from './hop-by-hop.js';
import { chooseTarget } from './route-choice.js';
import { RETRYABLE_CODES, upstreamError } from './upstream-errors.js';
import type { UpstreamBackend } from './upstream-pool.js';
import type { Proxy } from './proxy.js';

/** Request headers passed to replicas (lower case). Everything else stays at the gateway. */
export const FORWARDED_HEADERS: readonly string[] = [
  'content-type',
  'accept',
  'accept-encoding',
  'traceparent',
  'tracestate',
];

/** Status recorded when the client went away before its response was complete (nginx's convention). */
export const CLIENT_CLOSED = 499;

/** One proxied request: reads the body, makes the attempts, relays the response. */
export class Exchange implements Dispatcher.DispatchHandler, HeldRequest {
  /** In a hold queue, waiting for a table that gives the route a target. */
  waiting = false;
  private readonly headers: string[];
  /** The body is still arriving (the first attempt waits for it). */
  private bodyPending = false;
  /** `performance.now()` for the first pick of a backend: arrival, or the end of the hold. */
  private pickTime: number;
  /** The route stats whose `inFlight` this request counts in, once dispatched. */
  private counted: RouteStats | undefined;
  private body: Buffer | null = null;
  private backend: UpstreamBackend | undefined;
  private controller: Dispatcher.DispatchController | undefined;
  private attempts = 0;
  private responded = false;
  private done = false;
  private clientGone = false;
  private resumeUpstream: (() => void) | undefined;
  /** Set while an attempt is abandoned because its replica answered "draining". */
  private drainingRetry = false;
  /** Set when the replica's response headers could not be relayed. */
  private invalidResponse: Error | undefined;
  /** The mirrored copy's pair, when this request was mirrored. */
  private shadow: ShadowExchange | undefined;
  /** The whole response was relayed. */
  private complete = false;

  constructor(
    private readonly proxy: Proxy,
    private readonly req: IncomingMessage,
    private readonly res: ServerResponse,
    private table: CompiledTable,
    private route: CompiledRoute,
    /** Undefined while held. */
    private target: CompiledTarget | undefined,
    private readonly path: string,
    private readonly requestId: string,
    private readonly started: number,
  ) {
    const headers = ['x-request-id', requestId];
    const incoming = req.headers;
    for (const name of FORWARDED_HEADERS) {
      const value = incoming[name];
      if (value !== undefined) headers.push(name, value as string);
    }
    this.headers = headers;
    this.pickTime = started;
    res.once('close', () => this.onClientClose());
  }

  /** Reads the body if there is one; makes the first attempt once it is complete, unless held. */
  begin(): void {
    const h = this.req.headers;
    if (h['content-length'] !== undefined || h['transfer-encoding'] !== undefined) this.readBody();
    else if (!this.waiting) this.attempt(undefined);
  }

  /** Buffers the request body (bounded), then makes the first attempt (unless held). */
  private readBody(): void {
    this.bodyPending = true;
    const limit = this.proxy.options.maxBodyBytes;
    const declared = this.req.headers['content-length'];
    if (declared !== undefined && Number(declared) > limit) {
      this.fail(
        new PayloadTooLargeError(
          `request body: Content-Length ${declared} exceeds the gateway limit of ${limit} bytes`,
        ),
        true,
      );
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) {
        this.req.off('data', onData);
        this.req.pause();
        this.fail(new PayloadTooLargeError(`request body: more than the gateway limit of ${limit} bytes`), true);
        return;
      }
      chunks.push(chunk);
    };
    this.req.on('data', onData);
    this.req.once('end', () => {
      if (this.done) return;
      this.body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
      this.bodyPending = false;
      if (!this.waiting) this.attempt(undefined);
    });
    this.req.once('error', () => this.fail(new InvalidArgumentError('request body: the client stopped sending'), true));
  }

  /** Sends the request to a replica of the target, avoiding `avoid` (the one that just failed). */
  attempt(avoid: UpstreamBackend | undefined): void {
    if (this.clientGone) return this.finish(CLIENT_CLOSED);
    // Routed before a swap (while the body arrived, or before a retry): the old table's backends
    // may be closing, so route again with the table in use. Nothing was dispatched yet.
    if (this.proxy.currentTable() !== this.table && !this.reroute()) return;
    const target = this.target!;
    const mirror = this.route.mirror;
    // Mirrored once, with the first attempt: a retry resends to the primary only.
    if (mirror !== undefined && this.attempts === 0 && mirror.target !== target) {
      this.shadow = this.proxy.mirrors.start(this.route, mirror, {
        method: this.req.method!,
        path: this.path,
        headers: this.headers,
        body: this.body,
      });
    }
    const backend = pickBackend(target.backends, avoid === undefined ? this.pickTime : performance.now(), avoid)!;
    this.backend = backend;
    backend.acquire();
    target.stats.attempts++;
    if (this.attempts++ > 0) target.stats.retries++;
    else (this.counted = this.route.routeStats).inFlight++;
    this.controller = undefined;
    backend.pool.dispatch({ path: this.path, method: this.req.method!, headers: this.headers, body: this.body }, this);
  }

  /** Re-resolves route and target in the current table; answers 404/503 and returns false when that fails. */
  private reroute(): boolean {
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
    if (target === undefined) {
      this.table = table;
      this.route = route;
      // The route lost its replicas while the body arrived (scaled to zero): hold it, if it holds.
      const holds = this.proxy.holds;
      if (route.hold !== undefined && this.attempts === 0) {
        if (!holds.closed && !holds.isFull(route)) {
          this.target = undefined;
          this.waiting = true;
          holds.add(route, this);
          return false;
        }
        // Refused by the hold, like a request that finds the queue full on arrival (proxy.ts).
        route.routeStats.holdRejected++;
        this.noReplica(route, holds.closed ? 'the gateway is stopping' : route.holdFullMessage);
        return false;
      }
      this.noReplica(route);
      return false;
    }
    this.routeTo(table, route, target);
    return true;
  }

  /** The request goes to `target` of `route` (in `table`); the choice is logged where the route logs them. */
  private routeTo(table: CompiledTable, route: CompiledRoute, target: CompiledTarget): void {
    this.table = table;
    this.route = route;
    this.target = target;
    if (route.logsAssignments) this.proxy.assignments.record(this.requestId, target.assignment);
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

  /** Answers 503 ("no ready replica" unless `message` says why) for `route`, ending the request's accounting there instead of in {@link finish}. */
  private noReplica(route: CompiledRoute, message?: string): void {
    this.done = true;
    if (this.counted !== undefined) this.counted.inFlight--;
    this.shadow?.primaryEnd(503, false, this.clientGone, performance.now());
    this.proxy.noReadyReplica(this.res, route, this.requestId, this.started, message);
  }

  private leaveHold(): void {
    if (!this.waiting) return;
    this.waiting = false;
    this.proxy.holds.remove(this, this.route.prefix);
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.clientGone) controller.abort(new Error('client closed the connection'));
  }

  onResponseStart(
    controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: Record<string, string | string[] | undefined>,
  ): void {
    if (statusCode < 200) return; // informational (e.g. 103): not relayed
    // A draining replica (scaled down, replaced) refused the request without running it: send it to
    // another replica instead of passing its 503 on. Its connection closes; the pool reconnects.
    if (
      statusCode === 503 &&
      headers[DRAINING_HEADER] !== undefined &&
      this.attempts < this.proxy.options.maxAttempts
    ) {
      this.drainingRetry = true;
      controller.abort(new Error('replica is draining'));
      return;
    }
    this.responded = true;
    const backend = this.backend!;
    const target = this.target!;
    // A draining 503 passed on (no attempt left) says nothing about the replica's health.
    this.proxy.outliers.answered(
      this.route,
      target,
      backend,
      statusCode,
      statusCode === 503 && headers[DRAINING_HEADER] !== undefined,
      performance.now(),
    );
    removeHopByHop(headers);
    if (this.proxy.options.debugHeaders) headers['x-wharf-backend'] = backend.id;
    headers['x-wharf-revision'] = target.revisionText;
    if (headers['x-request-id'] === undefined) headers['x-request-id'] = this.requestId;
    try {
      this.res.writeHead(statusCode, headers as OutgoingHttpHeaders);
      this.shadow?.primaryStart(statusCode);
    } catch (err) {
      // Node refused a header the replica sent: answer 502 rather than a reset connection.
      this.responded = false;
      this.invalidResponse = err as Error;
      controller.abort(err as Error);
    }
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.shadow?.primaryData(chunk);
    if (!this.res.write(chunk)) {
      controller.pause();
      this.resumeUpstream ??= () => this.controller?.resume();
      this.res.once('drain', this.resumeUpstream);
    }
  }

  onResponseEnd(): void {
    this.complete = true;
    this.res.end();
    this.backend!.release();
    this.finish(this.res.statusCode);
  }

  onResponseError(_controller: Dispatcher.DispatchController, err: Error): void {
    const backend = this.backend!;
    backend.release();
    if (this.responded || this.clientGone) {
      // Too late to answer with an error: cut the response off so the client sees it is incomplete.
      this.res.destroy();
      return this.finish(this.clientGone ? CLIENT_CLOSED : this.res.statusCode);
    }
    if (this.invalidResponse !== undefined) {
      const { environment, deployment } = this.route;
      return this.fail(
        new UpstreamUnavailableError(
          `replica '${backend.id}' of deployment '${deployment}' in environment '${environment}' sent a response that cannot be relayed: ${this.invalidResponse.message}`,
        ),
        false,
      );
    }
    if (this.drainingRetry) {
      this.drainingRetry = false;
      return this.attempt(backend);
    }
    const code = (err as NodeJS.ErrnoException).code ?? '';
    this.proxy.outliers.erred(this.route, this.target!, backend, code, performance.now());
    if (RETRYABLE_CODES.has(code) && this.attempts < this.proxy.options.maxAttempts) return this.attempt(backend);
    const { environment, deployment } = this.route;
    const { headersTimeoutMs } = this.proxy.options;
    this.fail(
      upstreamError({
        code,
        error: err,
        backendId: backend.id,
        environment,
        deployment,
        attempts: this.attempts,
        headersTimeoutMs,
      }),
      false,
    );
  }

  private fail(err: Error, closeConnection: boolean, retryAfter?: number): void {
    if (this.done) return;
    if (this.clientGone) return this.finish(CLIENT_CLOSED);
    const status = sendError(this.res, err, { close: closeConnection, requestId: this.requestId, retryAfter });
    this.finish(status);
  }

  private onClientClose(): void {
    if (this.done || this.res.writableFinished) return;
    this.clientGone = true;
    if (this.controller !== undefined) this.controller.abort(new Error('client closed the connection'));
    else if (this.backend === undefined) this.finish(CLIENT_CLOSED);
  }

  private finish(status: number): void {
    if (this.done) return;
    this.done = true;
    this.leaveHold();
    this.proxy.metrics.inFlight--;
    if (this.counted !== undefined) this.counted.inFlight--;
    const now = performance.now();
    (this.target?.stats ?? this.route.unassigned).observe(status, (now - this.started) / 1000);
    this.shadow?.primaryEnd(status, this.complete, this.clientGone, now);
  }
}
