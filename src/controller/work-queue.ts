/**
 * A keyed work queue with the guarantees of client-go's `workqueue` that level-based controllers
 * rely on:
 *
 * - a key waits in the queue at most once (adding it again while it waits changes nothing);
 * - a key is handed to one worker at a time: while it is being processed, adds only mark it dirty,
 *   and {@link WorkQueue.done} puts it back so it runs once more with the newest state;
 * - {@link WorkQueue.addAfter} delays an add (the earliest pending delay per key wins);
 * - {@link WorkQueue.addRateLimited} delays by a per-key exponential backoff, which
 *   {@link WorkQueue.forget} resets after a success.
 *
 * @example
 *   const queue = new WorkQueue();
 *   queue.add('production.readmission');
 *   for (let key; (key = await queue.get()) !== undefined; ) {
 *     try { await work(key); queue.forget(key); } catch { queue.addRateLimited(key); } finally { queue.done(key); }
 *   }
 */
import { type Clock, type ClockTimer, realClock } from './clock.js';

/** Backoff settings; every default is in {@link WORK_QUEUE_DEFAULTS}. */
export interface WorkQueueOptions {
  /** Delay after a key's first failure; doubles with each further consecutive failure. */
  baseDelayMs?: number;
  /** Longest delay. */
  maxDelayMs?: number;
  /** Time and timers of delayed adds; {@link realClock} by default (tests pass a fake one). */
  clock?: Clock;
}

/** Defaults of {@link WorkQueueOptions}. */
export const WORK_QUEUE_DEFAULTS = { baseDelayMs: 100, maxDelayMs: 30_000 } as const;

/**
 * The delay after the `failures`-th consecutive failure: `base · 2^(failures-1)`, capped at `max`.
 *
 * @example
 *   backoffDelay(1, 100, 30_000) // 100
 *   backoffDelay(4, 100, 30_000) // 800
 */
export function backoffDelay(failures: number, baseDelayMs: number, maxDelayMs: number): number {
  if (failures <= 0) return 0;
  // 2^exponent overflows to Infinity for huge counts; Math.min caps it either way.
  return Math.min(maxDelayMs, baseDelayMs * 2 ** Math.min(failures - 1, 62));
}

/** See the module comment. */
export class WorkQueue {
  readonly #baseDelayMs: number;
  readonly #maxDelayMs: number;
  readonly #clock: Clock;
  readonly #queue: string[] = [];
  /** Keys that need processing: waiting in `#queue`, or to be re-queued when their processing ends. */
  readonly #dirty = new Set<string>();
  readonly #processing = new Set<string>();
  readonly #delayed = new Map<string, { at: number; timer: ClockTimer }>();
  readonly #failures = new Map<string, number>();
  readonly #waiters: ((key: string | undefined) => void)[] = [];
  #shutDown = false;

  constructor(options: WorkQueueOptions = {}) {
    this.#baseDelayMs = options.baseDelayMs ?? WORK_QUEUE_DEFAULTS.baseDelayMs;
    this.#maxDelayMs = options.maxDelayMs ?? WORK_QUEUE_DEFAULTS.maxDelayMs;
    this.#clock = options.clock ?? realClock;
  }

  /** Keys waiting to be handed out (not counting delayed or in-process ones). */
  get length(): number {
    return this.#queue.length;
  }

  /** True once {@link shutdown} was called. */
  get shuttingDown(): boolean {
    return this.#shutDown;
  }

  /** Queues `key` unless it already waits; while it is processed, marks it to run again after. */
  add(key: string): void {
    if (this.#shutDown || this.#dirty.has(key)) return;
    this.#dirty.add(key);
    if (this.#processing.has(key)) return;
    this.#push(key);
  }

  /** Adds `key` after `delayMs`; if a delayed add of `key` is already due sooner, keeps that one. */
  addAfter(key: string, delayMs: number): void {
    if (this.#shutDown) return;
    if (delayMs <= 0) return this.add(key);
    const at = this.#clock.now() + delayMs;
    const pending = this.#delayed.get(key);
    if (pending !== undefined) {
      if (pending.at <= at) return;
      this.#clock.clearTimeout(pending.timer);
    }
    const timer = this.#clock.setTimeout(() => {
      this.#delayed.delete(key);
      this.add(key);
    }, delayMs);
    this.#delayed.set(key, { at, timer });
  }

  /** Adds `key` after its backoff delay and counts one more failure; returns the delay. */
  addRateLimited(key: string): number {
    const failures = (this.#failures.get(key) ?? 0) + 1;
    this.#failures.set(key, failures);
    const delay = backoffDelay(failures, this.#baseDelayMs, this.#maxDelayMs);
    this.addAfter(key, delay);
    return delay;
  }

  /** Resets `key`'s failure count (call after it was processed successfully). */
  forget(key: string): void {
    this.#failures.delete(key);
  }

  /** Consecutive failures counted for `key`. */
  failures(key: string): number {
    return this.#failures.get(key) ?? 0;
  }

  /**
   * The next key to process, waiting for one if needed; `undefined` once the queue is shut down.
   * The caller owns the key until it calls {@link done}.
   */
  get(): Promise<string | undefined> {
    if (this.#shutDown) return Promise.resolve(undefined);
    const key = this.#queue.shift();
    if (key !== undefined) return Promise.resolve(this.#take(key));
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** Ends processing of `key`; if it was added meanwhile, queues it again. */
  done(key: string): void {
    this.#processing.delete(key);
    if (this.#dirty.has(key) && !this.#shutDown) this.#push(key);
  }

  /** Stops handing out keys: pending and future {@link get}s return `undefined`; delayed adds are dropped. */
  shutdown(): void {
    if (this.#shutDown) return;
    this.#shutDown = true;
    for (const { timer } of this.#delayed.values()) this.#clock.clearTimeout(timer);
    this.#delayed.clear();
    for (const waiter of this.#waiters.splice(0)) waiter(undefined);
  }

  #push(key: string): void {
    const waiter = this.#waiters.shift();
    if (waiter !== undefined) waiter(this.#take(key));
    else this.#queue.push(key);
  }

  #take(key: string): string {
    this.#dirty.delete(key);
    this.#processing.add(key);
    return key;
  }
}
