/**
 * Mirroring for shadow releases. For a sampled share of a route's requests whose method it mirrors
 * (`CompiledMirror.methods`), a copy (same
 * method, path, forwarded headers and buffered body, plus `x-wharf-shadow: 1`) goes to a replica
 * of the mirrored revision through its undici pool, fire-and-forget: nothing on the primary's
 * path waits for it, and nothing the mirror does (slow, 5xx, refused) reaches the caller. The
 * primary's response body is kept only for mirrored requests (teed while it streams to the
 * client); once both sides have ended, the pair is compared (shadow-compare.ts) off the request
 * path and counted in the revision's {@link ShadowStats}.
 *
 * Model routes mirror POSTs unless told otherwise: in the inference protocol they are the inference
 * calls, while GETs are health and metadata, whose answers differ between revisions by design
 * (model version). Application routes mirror what the user marked safe to send twice (default GET
 * and HEAD), and compare status and body instead of inference outputs.
 *
 * Bounds: at most `maxInFlight` unsettled pairs per mirrored revision (beyond that a copy is
 * `dropped`, so a slow shadow cannot pile up memory or sockets), `timeoutMs` for the mirror to
 * answer, and `maxBodyBytes` kept per side (a larger pair is counted but not compared).
 *
 * The mirror's answers also tell on its replica, as the primary's do (outlier-detection.ts): 5xx
 * answers (the draining 503 aside), headers timeouts and connect failures count toward ejecting it,
 * so a broken shadow replica stops getting copies, and a good answer after errors readmits it.
 */
import { performance } from 'node:perf_hooks';
import type { Dispatcher } from 'undici';
import { pickBackend } from './balancer.js';
import type { CompiledMirror, CompiledRoute } from './compiled-table.js';
import { DRAINING_HEADER } from '../protocol/headers.js';
import type { OutlierDetector } from './outlier-detection.js';
import type { ResponseTap } from './route-pipeline.js';
import type { ShadowComparer } from './shadow-comparer.js';
import type { UpstreamBackend } from './upstream-pool.js';

/** Mirror settings; every default is declared in {@link MIRROR_DEFAULTS}. */
export interface MirrorOptions {
  /** Unsettled mirrored requests per mirrored revision (answering or being compared); beyond → dropped. */
  maxInFlight: number;
  /** Time for the mirror's response headers, and the longest pause between its body chunks. */
  timeoutMs: number;
  /** Largest response body kept for comparison, per side. */
  maxBodyBytes: number;
}

/** Defaults. */
export const MIRROR_DEFAULTS: Readonly<MirrorOptions> = {
  maxInFlight: 64,
  timeoutMs: 30_000,
  maxBodyBytes: 4 * 1024 * 1024,
};

/** The request a copy is made of. */
export interface MirroredRequest {
  readonly method: string;
  readonly path: string;
  /** Flat header list as sent to the primary. */
  readonly headers: readonly string[];
  readonly body: Buffer | null;
}

/** Sends copies; one per gateway. */
export class Mirrors {
  constructor(
    readonly options: MirrorOptions,
    readonly comparer: ShadowComparer,
    /** Told of the mirror's answers and failures, as for the primary's. */
    readonly outliers: OutlierDetector,
  ) {}

  /**
   * Maybe mirrors a request that is about to be dispatched to its primary (call once, before the
   * first attempt): sampled by the mirror's share, bounded by `maxInFlight`. Returns the pair the
   * primary reports its response to, or undefined when no copy was sent.
   */
  start(route: CompiledRoute, mirror: CompiledMirror, request: MirroredRequest): ShadowExchange | undefined {
    if (!mirror.methods.has(request.method)) return undefined;
    if (mirror.fraction < 1 && Math.random() >= mirror.fraction) return undefined;
    const stats = mirror.stats;
    if (stats.inFlight >= this.options.maxInFlight) {
      stats.dropped++;
      return undefined;
    }
    // One clock read serves the pick and the pair's start.
    const now = performance.now();
    const backend = pickBackend(mirror.target.backends, now)!;
    const exchange = new ShadowExchange(this, route, mirror, backend, now);
    stats.inFlight++;
    stats.mirrored++;
    backend.acquire();
    const { timeoutMs } = this.options;
    try {
      backend.pool.dispatch(
        {
          method: request.method,
          path: request.path,
          headers: [...request.headers, 'x-wharf-shadow', '1'],
          body: request.body,
          headersTimeout: timeoutMs,
          bodyTimeout: timeoutMs,
        },
        exchange,
      );
    } catch {
      exchange.onResponseError();
    }
    return exchange;
  }
}

/** One side's response, kept (bounded) for the comparison. */
class Capture {
  status = 0;
  chunks: Buffer[] = [];
  size = 0;
  /** More than the body limit arrived; the chunks were dropped. */
  overflow = false;
  /** The whole response arrived. */
  complete = false;
  done = false;
  /** The client went away before the primary's response ended: no verdict on this pair. */
  abandoned = false;
  endedAt = 0;

  constructor(private readonly limit: number) {}

  data(chunk: Buffer): void {
    if (this.overflow) return;
    this.size += chunk.length;
    if (this.size > this.limit) {
      this.overflow = true;
      this.chunks = [];
      return;
    }
    this.chunks.push(chunk);
  }

  /** The side ended at `now` (`performance.now()`). */
  end(complete: boolean, now: number): void {
    this.done = true;
    this.complete = complete;
    this.endedAt = now;
  }

  /** Status ≥ 500 or no (complete) response. */
  get error(): boolean {
    return !this.complete || this.status >= 500;
  }

  body(): Buffer {
    return this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.size);
  }
}

/**
 * A mirrored request: the undici handler of the copy, and the tap of the primary's exchange (its
 * relayed response). Settles once both sides have ended.
 */
export class ShadowExchange implements Dispatcher.DispatchHandler, ResponseTap {
  private readonly primary: Capture;
  private readonly copy: Capture;
  private released = false;
  private settled = false;

  constructor(
    private readonly mirrors: Mirrors,
    private readonly route: CompiledRoute,
    private readonly mirror: CompiledMirror,
    private readonly backend: UpstreamBackend,
    /** `performance.now()` when the copy was sent: both sides' latencies are measured from it. */
    private readonly startedAt: number,
  ) {
    this.primary = new Capture(mirrors.options.maxBodyBytes);
    this.copy = new Capture(mirrors.options.maxBodyBytes);
  }

  /** The primary's response started with `status`. */
  relayStart(status: number): void {
    this.primary.status = status;
  }

  /** A chunk of the primary's body (already written to the client; kept by reference, not copied). */
  relayData(chunk: Buffer): void {
    this.primary.data(chunk);
  }

  /**
   * The primary's exchange is over: `complete` when its whole response was relayed, `abandoned`
   * when the client left first. `status` is what the caller got (the gateway's own 502/504 when no
   * replica answered); `now` is `performance.now()` (the caller has just read it). Only the
   * first call counts.
   */
  relayEnd(status: number, complete: boolean, abandoned: boolean, now: number): void {
    if (this.primary.done) return;
    this.primary.status = status;
    this.primary.abandoned = abandoned;
    this.primary.end(complete, now);
    this.settle();
  }

  onRequestStart(): void {}

  onResponseStart(
    _controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: Record<string, string | string[] | undefined>,
  ): void {
    if (statusCode < 200) return; // informational responses are not the answer
    this.copy.status = statusCode;
    this.mirrors.outliers.answered(
      this.route,
      this.mirror.target,
      this.backend,
      statusCode,
      statusCode === 503 && headers[DRAINING_HEADER] !== undefined,
      performance.now(),
    );
  }

  onResponseData(_controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.copy.data(chunk);
  }

  onResponseEnd(): void {
    this.release();
    this.copy.end(true, performance.now());
    this.settle();
  }

  onResponseError(_controller?: Dispatcher.DispatchController, err?: Error): void {
    this.release();
    if (this.copy.done) return;
    this.mirrors.outliers.erred(
      this.route,
      this.mirror.target,
      this.backend,
      (err as NodeJS.ErrnoException | undefined)?.code ?? '',
      performance.now(),
    );
    this.copy.end(false, performance.now());
    this.settle();
  }

  private release(): void {
    if (this.released) return;
    this.released = true;
    this.backend.release();
  }

  /** Both sides ended: count errors, then compare (off this turn) or just free the slot. */
  private settle(): void {
    const { primary, copy } = this;
    if (!primary.done || !copy.done || this.settled) return;
    this.settled = true;
    const stats = this.mirror.stats;
    if (!primary.abandoned && primary.error) stats.primaryErrors++;
    if (copy.error) stats.shadowErrors++;
    if (primary.abandoned || primary.error || copy.error || primary.overflow || copy.overflow) {
      stats.inFlight--;
      return;
    }
    const primaryLatency = (primary.endedAt - this.startedAt) / 1000;
    const shadowLatency = (copy.endedAt - this.startedAt) / 1000;
    const compared = this.mirrors.comparer.compare(
      { status: primary.status, body: primary.body() },
      { status: copy.status, body: copy.body() },
      this.mirror.tolerance,
      this.mirror.protocol,
    );
    void compared.then((result) => {
      stats.inFlight--;
      if (result === undefined) return;
      stats.compared++;
      if (result.agreed) stats.agreed++;
      stats.numericElements += result.numericElements;
      stats.absDiffSum += result.absDiffSum;
      stats.primaryLatencySum += primaryLatency;
      stats.shadowLatencySum += shadowLatency;
    });
  }
}
