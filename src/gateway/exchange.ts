/**
 * One proxied request (see proxy.ts for the rules it follows): reads the body, makes the attempts,
 * relays the response. It is the undici dispatch handler itself, so a request allocates one object
 * plus its header list. Its routing state and hold queue side are in exchange-routing.ts; what the
 * route does around the request (stats, outlier ejection, the assignment log, the mirror, the
 * hold) is in the route's filters and observers, compiled with the table (route-pipeline.ts): the
 * exchange calls them at fixed points and knows none of them.
 */
import type { OutgoingHttpHeaders } from 'node:http';
import { performance } from 'node:perf_hooks';
import { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import { InvalidArgumentError, PayloadTooLargeError } from '../core/errors.js';
import { pickBackend } from './balancer.js';
import { sendError, UpstreamUnavailableError } from './errors.js';
import { DRAINING_HEADER } from '../protocol/headers.js';
import { removeHopByHop } from './hop-by-hop.js';
import { RoutedExchange } from './exchange-routing.js';
import { RETRYABLE_CODES, upstreamError } from './upstream-errors.js';
import type { UpstreamBackend } from './upstream-pool.js';
import type { RejectHeaders } from './route-pipeline.js';

export { FORWARDED_HEADERS } from './exchange-routing.js';

/** Status recorded when the client went away before its response was complete (nginx's convention). */
export const CLIENT_CLOSED = 499;

/** One proxied request: reads the body, makes the attempts, relays the response. */
export class Exchange extends RoutedExchange implements Dispatcher.DispatchHandler {
  private backend: UpstreamBackend | undefined;
  private controller: Dispatcher.DispatchController | undefined;
  private responded = false;
  private resumeUpstream: (() => void) | undefined;
  /** Set while an attempt is abandoned because its replica answered "draining". */
  private drainingRetry = false;
  /** Set when the replica's response headers could not be relayed. */
  private invalidResponse: Error | undefined;
  /** The whole response was relayed. */
  private complete = false;
  /** The request body, streamed as it arrives (application routes; see `mayStream`). */
  private upload: Readable | undefined;

  /**
   * Runs the route's filters (which may answer or hold the request), tells its observers the
   * target, reads the body if there is one, and makes the first attempt once it is complete,
   * unless held.
   */
  begin(): void {
    if (!this.filtered()) return;
    const target = this.target;
    if (target !== undefined) this.routed(target);
    else if (!this.waiting) return this.noReplica(this.route);
    const h = this.req.headers;
    if (h['content-length'] !== undefined || h['transfer-encoding'] !== undefined) {
      if (this.tooLarge()) return;
      if (this.mayStream()) this.streamBody();
      else this.readBody();
    } else if (!this.waiting) this.attempt(undefined);
  }

  /** Answers 413 (and returns true) when the declared body is over the limit. */
  private tooLarge(): boolean {
    const limit = this.proxy.options.maxBodyBytes;
    const declared = this.req.headers['content-length'];
    if (declared === undefined || !(Number(declared) > limit)) return false;
    this.fail(
      new PayloadTooLargeError(`request body: Content-Length ${declared} exceeds the gateway limit of ${limit} bytes`),
      true,
    );
    return true;
  }

  /**
   * Whether the body goes to the replica as it arrives instead of being buffered first: on an
   * application route, for a request dispatched at once (not held), not copied to a mirror (the copy
   * needs the whole body), and larger than `bufferBodyBytes` or of unknown length. Small bodies are
   * buffered so that a failed connect can still be retried on another replica.
   */
  private mayStream(): boolean {
    const route = this.route;
    if (!route.application || this.waiting || this.target === undefined) return false;
    if (route.mirror !== undefined && route.mirror.methods.has(this.req.method!)) return false;
    const declared = this.req.headers['content-length'];
    return declared === undefined || Number(declared) > this.proxy.options.bufferBodyBytes;
  }

  /** Sends the body as it arrives (bounded by `maxBodyBytes`: 413 beyond, unless the replica answered first). */
  private streamBody(): void {
    const declared = this.req.headers['content-length'];
    if (declared !== undefined) (this.headers as string[]).push('content-length', declared);
    this.upload = Readable.from(limitedBody(this.req, this.proxy.options.maxBodyBytes), { objectMode: false });
    this.attempt(undefined);
  }

  /** Buffers the request body (bounded), then makes the first attempt (unless held). */
  private readBody(): void {
    this.bodyPending = true;
    const limit = this.proxy.options.maxBodyBytes;
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
    if (this.attempts++ === 0) (this.counted = this.route.routeStats).inFlight++;
    const observers = this.route.pipeline.dispatching;
    for (let i = 0; i < observers.length; i++) observers[i]!.dispatching(this);
    const target = this.target!;
    const backend = pickBackend(target.backends, avoid === undefined ? this.pickTime : performance.now(), avoid)!;
    this.backend = backend;
    backend.acquire();
    this.controller = undefined;
    if (!this.route.application) {
      backend.pool.dispatch(
        { path: this.path, method: this.req.method!, headers: this.headers, body: this.body },
        this,
      );
      return;
    }
    // Long polls and event streams: the application's own limit, not the model runs' headers timeout.
    const timeout = this.proxy.options.applicationTimeoutMs;
    backend.pool.dispatch(
      {
        path: this.path,
        method: this.req.method!,
        headers: this.headers,
        body: this.upload ?? this.body,
        headersTimeout: timeout,
        bodyTimeout: timeout,
      },
      this,
    );
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
    const draining = statusCode === 503 && headers[DRAINING_HEADER] !== undefined;
    if (draining && this.attempts < this.proxy.options.maxAttempts && this.upload === undefined) {
      this.drainingRetry = true;
      controller.abort(new Error('replica is draining'));
      return;
    }
    this.responded = true;
    const backend = this.backend!;
    const target = this.target!;
    // A draining 503 passed on (no attempt left) says nothing about the replica's health.
    const observers = this.route.pipeline.answered;
    const now = performance.now();
    for (let i = 0; i < observers.length; i++) observers[i]!.answered(this, backend, statusCode, draining, now);
    removeHopByHop(headers);
    if (this.proxy.options.debugHeaders) headers['x-wharf-backend'] = backend.id;
    headers['x-wharf-revision'] = target.revisionText;
    if (headers['x-request-id'] === undefined) headers['x-request-id'] = this.requestId;
    try {
      this.res.writeHead(statusCode, headers as OutgoingHttpHeaders);
      // A body of unknown length (server-sent events, a long poll): the client gets the headers now,
      // not with the first chunk.
      if (this.route.application && headers['content-length'] === undefined) this.res.flushHeaders();
      this.tap?.relayStart(statusCode);
    } catch (err) {
      // Node refused a header the replica sent: answer 502 rather than a reset connection.
      this.responded = false;
      this.invalidResponse = err as Error;
      controller.abort(err as Error);
    }
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.tap?.relayData(chunk);
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
    // The streamed body broke the limit: the client's fault, not the replica's.
    if (err instanceof PayloadTooLargeError) return this.fail(err, true);
    const code = (err as NodeJS.ErrnoException).code ?? '';
    const observers = this.route.pipeline.erred;
    const now = performance.now();
    for (let i = 0; i < observers.length; i++) observers[i]!.erred(this, backend, code, now);
    // A streamed body is (partly) spent: it cannot be sent again.
    if (RETRYABLE_CODES.has(code) && this.attempts < this.proxy.options.maxAttempts && this.upload === undefined)
      return this.attempt(backend);
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

  reject(error: Error, headers: RejectHeaders): void {
    if (this.done) return;
    // Refused before any attempt: it reached no revision, and counts as revision "".
    this.target = undefined;
    if (this.clientGone) return this.finish(CLIENT_CLOSED);
    const status = sendError(this.res, error, { ...headers, close: this.bodyPending, requestId: this.requestId });
    this.finish(status);
  }

  protected fail(err: Error, closeConnection: boolean, retryAfter?: number): void {
    if (this.done) return;
    if (this.clientGone) return this.finish(CLIENT_CLOSED);
    const status = sendError(this.res, err, { close: closeConnection, requestId: this.requestId, retryAfter });
    this.finish(status);
  }

  protected onClientClose(): void {
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
    const observers = this.route.pipeline.ended;
    for (let i = 0; i < observers.length; i++) observers[i]!.ended(this, status, now);
    this.tap?.relayEnd(status, this.complete, this.clientGone, now);
  }
}

/** The request's body chunks as they arrive; throws PayloadTooLargeError once more than `limit` bytes came. */
async function* limitedBody(req: AsyncIterable<Buffer>, limit: number): AsyncGenerator<Buffer> {
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > limit) throw new PayloadTooLargeError(`request body: more than the gateway limit of ${limit} bytes`);
    yield chunk;
  }
}
