/**
 * Forwards one request to a replica over its undici pool and streams the response back.
 *
 * - Request: method, the path remainder as is, and only the headers in {@link FORWARDED_HEADERS}
 *   plus `x-request-id` (generated when absent). The body is buffered up to `maxBodyBytes` (413
 *   beyond) so that it can be sent again on a retry.
 * - Response: status and headers minus hop-by-hop ones, plus `x-wharf-backend`,
 *   `x-wharf-revision` and `x-request-id`; the body is streamed with backpressure.
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
 *
 * "Never reached the model" is approximated by "no response byte": a replica that dies after
 * reading a request sees it retried. Inference is a pure function of its input, so that is safe.
 *
 * The per-request object ({@link Exchange}) is the undici dispatch handler itself, so a request
 * allocates one object plus its header list, not a promise chain or a body stream.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Dispatcher } from 'undici';
import { InvalidArgumentError, PayloadTooLargeError } from '../core/errors.js';
import { EJECTION_DEFAULTS, pickBackend, recordConnectFailure, recordSuccess } from './balancer.js';
import type { AssignmentLog } from './assignment-log.js';
import type { CompiledRoute, CompiledTable, CompiledTarget } from './compiled-table.js';
import { NoReadyReplicaError, RouteNotFoundError, sendError, UpstreamUnavailableError } from './errors.js';
import type { GatewayMetrics } from './metrics.js';
import { DRAINING_HEADER } from '../core/protocol-headers.js';
import { MIRROR_DEFAULTS, type MirrorOptions, type Mirrors, type ShadowExchange } from './mirror.js';
import { removeHopByHop } from './hop-by-hop.js';
import { chooseTarget } from './route-choice.js';
import { CONNECT_FAILURES, RETRYABLE_CODES, upstreamError } from './upstream-errors.js';
import type { UpstreamBackend } from './upstream-pool.js';

/** Proxy settings; every default is declared in {@link PROXY_DEFAULTS}. */
export interface ProxyOptions {
  /** Largest request body buffered for forwarding; larger → 413. */
  maxBodyBytes: number;
  /** Attempts per request, the first included (so 2 = at most one retry). */
  maxAttempts: number;
  /** `Retry-After` seconds on 503s. */
  retryAfterSeconds: number;
  /** Passive ejection after connect failures; see balancer.ts. */
  ejection: { baseMs: number; maxMs: number };
  /** Upstream headers timeout, for the 504 message. */
  headersTimeoutMs: number;
  /** Mirroring bounds (shadow releases). */
  mirror: MirrorOptions;
}

/** Defaults. */
export const PROXY_DEFAULTS: Readonly<ProxyOptions> = {
  maxBodyBytes: 16 * 1024 * 1024,
  maxAttempts: 2,
  retryAfterSeconds: 1,
  ejection: EJECTION_DEFAULTS,
  headersTimeoutMs: 60_000,
  mirror: MIRROR_DEFAULTS,
};

/** Request headers passed to replicas (lower case). Everything else stays at the gateway. */
export const FORWARDED_HEADERS: readonly string[] = ['content-type', 'accept', 'accept-encoding', 'traceparent', 'tracestate'];

/** Status recorded when the client went away before its response was complete (nginx's convention). */
export const CLIENT_CLOSED = 499;

/** Forwards requests; one instance per gateway. */
export class Proxy {
  constructor(
    readonly options: ProxyOptions,
    readonly metrics: GatewayMetrics,
    /** The table in use now: an attempt made after a swap is routed with the new table. */
    readonly currentTable: () => CompiledTable | undefined,
    /** Sends the copies of mirrored requests. */
    readonly mirrors: Mirrors,
    /** Where routing decisions are logged for A/B attribution. */
    readonly assignments: AssignmentLog,
  ) {}

  /**
   * Proxies `req` to a replica of `route` (found in `table`); `path` is the remainder after the
   * route prefix (it starts with `/`). `started` is `performance.now()` at arrival. Always
   * answers `res`, and decrements `metrics.inFlight` exactly once when the exchange ends.
   */
  forward(req: IncomingMessage, res: ServerResponse, table: CompiledTable, route: CompiledRoute, path: string, started: number): void {
    const target = chooseTarget(route, req.headers);
    const requestId = (req.headers['x-request-id'] as string | undefined) || randomUUID();
    if (target === undefined) {
      this.noReadyReplica(res, route, requestId, started);
      return;
    }
    if (route.logsAssignments) this.assignments.record(requestId, target.assignment);
    const exchange = new Exchange(this, req, res, table, route, target, path, requestId, started);
    const h = req.headers;
    if (h['content-length'] === undefined && h['transfer-encoding'] === undefined) exchange.attempt(undefined);
    else exchange.readBody();
  }

  /** Answers 503 for a route without a target that can take traffic, and ends the request's accounting. */
  noReadyReplica(res: ServerResponse, route: CompiledRoute, requestId: string, started: number): void {
    route.routeStats.noReadyReplica++;
    const status = sendError(res, new NoReadyReplicaError(route.noReplicaMessage), { retryAfter: this.options.retryAfterSeconds, requestId });
    this.metrics.inFlight--;
    route.unassigned.observe(status, (performance.now() - started) / 1000);
  }
}

/** One proxied request: reads the body, makes the attempts, relays the response. */
class Exchange implements Dispatcher.DispatchHandler {
  private readonly headers: string[];
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
    private target: CompiledTarget,
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
    res.once('close', () => this.onClientClose());
  }

  /** Buffers the request body (bounded), then makes the first attempt. */
  readBody(): void {
    const limit = this.proxy.options.maxBodyBytes;
    const declared = this.req.headers['content-length'];
    if (declared !== undefined && Number(declared) > limit) {
      this.fail(new PayloadTooLargeError(`request body: Content-Length ${declared} exceeds the gateway limit of ${limit} bytes`), true);
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
      this.attempt(undefined);
    });
    this.req.once('error', () => this.fail(new InvalidArgumentError('request body: the client stopped sending'), true));
  }

  /** Sends the request to a replica of the target, avoiding `avoid` (the one that just failed). */
  attempt(avoid: UpstreamBackend | undefined): void {
    if (this.clientGone) return this.finish(CLIENT_CLOSED);
    // Routed before a swap (while the body arrived, or before a retry): the old table's backends
    // may be closing, so route again with the table in use. Nothing was dispatched yet.
    if (this.proxy.currentTable() !== this.table && !this.reroute()) return;
    const target = this.target;
    const mirror = this.route.mirror;
    // Mirrored once, with the first attempt: a retry resends to the primary only.
    if (mirror !== undefined && this.attempts === 0 && mirror.target !== target) {
      this.shadow = this.proxy.mirrors.start(mirror, { method: this.req.method!, path: this.path, headers: this.headers, body: this.body });
    }
    const backend = pickBackend(target.backends, avoid === undefined ? this.started : performance.now(), avoid)!;
    this.backend = backend;
    backend.acquire();
    target.stats.attempts++;
    if (this.attempts++ > 0) target.stats.retries++;
    this.controller = undefined;
    backend.pool.dispatch({ path: this.path, method: this.req.method!, headers: this.headers, body: this.body }, this);
  }

  /** Re-resolves route and target in the current table; answers 404/503 and returns false when that fails. */
  private reroute(): boolean {
    const table = this.proxy.currentTable()!;
    const route = table.routes.get(this.route.prefix);
    if (route === undefined) {
      const { environment, deployment } = this.route;
      this.fail(new RouteNotFoundError(`no route for deployment '${deployment}' in environment '${environment}' (removed while the request arrived)`), false);
      return false;
    }
    const target = chooseTarget(route, this.req.headers);
    if (target === undefined) {
      this.done = true;
      this.proxy.noReadyReplica(this.res, route, this.requestId, this.started);
      return false;
    }
    this.table = table;
    this.route = route;
    this.target = target;
    if (route.logsAssignments) this.proxy.assignments.record(this.requestId, target.assignment);
    return true;
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.clientGone) controller.abort(new Error('client closed the connection'));
  }

  onResponseStart(controller: Dispatcher.DispatchController, statusCode: number, headers: Record<string, string | string[] | undefined>): void {
    if (statusCode < 200) return; // informational (e.g. 103): not relayed
    // A draining replica (scaled down, replaced) refused the request without running it: send it to
    // another replica instead of passing its 503 on. Its connection closes; the pool reconnects.
    if (statusCode === 503 && headers[DRAINING_HEADER] !== undefined && this.attempts < this.proxy.options.maxAttempts) {
      this.drainingRetry = true;
      controller.abort(new Error('replica is draining'));
      return;
    }
    this.responded = true;
    const backend = this.backend!;
    recordSuccess(backend);
    removeHopByHop(headers);
    headers['x-wharf-backend'] = backend.id;
    headers['x-wharf-revision'] = this.target.revisionText;
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
      return this.fail(new UpstreamUnavailableError(
        `replica '${backend.id}' of deployment '${deployment}' in environment '${environment}' sent a response that cannot be relayed: ${this.invalidResponse.message}`), false);
    }
    if (this.drainingRetry) {
      this.drainingRetry = false;
      return this.attempt(backend);
    }
    const code = (err as NodeJS.ErrnoException).code ?? '';
    if (CONNECT_FAILURES.has(code)) recordConnectFailure(backend, performance.now(), this.proxy.options.ejection);
    if (RETRYABLE_CODES.has(code) && this.attempts < this.proxy.options.maxAttempts) return this.attempt(backend);
    const { environment, deployment } = this.route;
    const { headersTimeoutMs } = this.proxy.options;
    this.fail(upstreamError({ code, error: err, backendId: backend.id, environment, deployment, attempts: this.attempts, headersTimeoutMs }), false);
  }

  private fail(err: Error, closeConnection: boolean): void {
    if (this.done) return;
    if (this.clientGone) return this.finish(CLIENT_CLOSED);
    const status = sendError(this.res, err, { close: closeConnection, requestId: this.requestId });
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
    this.proxy.metrics.inFlight--;
    this.target.stats.observe(status, (performance.now() - this.started) / 1000);
    this.shadow?.primaryEnd(status, this.complete, this.clientGone);
  }
}
