/**
 * Runs shadow comparisons off the request path: small pairs on the event loop in a later turn
 * (after the primary response was handed to the socket, parsing a few KB costs microseconds), large
 * ones in one worker thread, because `JSON.parse` of megabytes would stall every other request on
 * the gateway for tens of milliseconds.
 */
import { Worker } from 'node:worker_threads';
import type { RouteProtocol } from '../protocol/route-table.js';
import type { ComparedResponse, Comparison } from './shadow-compare.js';
import { compareResponses } from './shadow-compare.js';
import type { CompareRequest } from './shadow-compare-worker.js';

/** Pairs up to this many bytes (both bodies) are compared on the event loop; larger go to the worker. */
export const INLINE_COMPARE_BYTES = 128 * 1024;

/** Compares pairs; one per gateway. */
export class ShadowComparer {
  /** Comparisons sent to the worker so far (a diagnostic; tests read it). */
  offloaded = 0;
  private worker: Worker | undefined;
  private readonly pending = new Map<number, (comparison: Comparison | undefined) => void>();
  private nextId = 0;
  private closed = false;

  constructor(private readonly inlineBytes = INLINE_COMPARE_BYTES) {}

  /** Resolves with the comparison (`protocol`: see `compareResponses`), or undefined when it could not run (the worker died, or the comparer closed). */
  compare(
    primary: ComparedResponse,
    shadow: ComparedResponse,
    tolerance: number,
    protocol: RouteProtocol = 'oip',
  ): Promise<Comparison | undefined> {
    if (this.closed) return Promise.resolve(undefined);
    if (primary.body.byteLength + shadow.body.byteLength <= this.inlineBytes) {
      return new Promise((resolve) =>
        setImmediate(() => resolve(compareResponses(primary, shadow, tolerance, protocol))),
      );
    }
    return new Promise((resolve) => {
      const id = this.nextId++;
      this.pending.set(id, resolve);
      const message: CompareRequest = { id, primary, shadow, tolerance, protocol };
      const worker = this.ensureWorker();
      this.offloaded++;
      worker.ref();
      worker.postMessage(message);
    });
  }

  /** Stops the worker; pending comparisons resolve undefined. */
  async close(): Promise<void> {
    this.closed = true;
    const worker = this.worker;
    this.worker = undefined;
    this.failPending();
    if (worker !== undefined) await worker.terminate();
  }

  private ensureWorker(): Worker {
    if (this.worker !== undefined) return this.worker;
    const worker = new Worker(new URL('./shadow-compare-worker.js', import.meta.url));
    // Idle, it must not keep the process alive; while a comparison is pending, ref() holds it.
    worker.unref();
    worker.on('message', ({ id, comparison }: { id: number; comparison: Comparison }) => {
      const resolve = this.pending.get(id);
      this.pending.delete(id);
      if (this.pending.size === 0) worker.unref();
      resolve?.(comparison);
    });
    const lost = (): void => {
      if (this.worker !== worker) return;
      this.worker = undefined; // the next large pair starts a fresh one
      this.failPending();
    };
    worker.on('error', lost);
    worker.on('exit', lost);
    this.worker = worker;
    return worker;
  }

  private failPending(): void {
    for (const resolve of this.pending.values()) resolve(undefined);
    this.pending.clear();
  }
}
