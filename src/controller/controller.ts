/**
 * Runs a {@link Reconciler} over a {@link WorkQueue} with N workers, and is the only place that
 * interprets reconcile results (see `reconciler.ts`): requeue after a delay, retry with backoff, or
 * record a terminal error.
 *
 * Keys come from three sources, so a missed event only delays work (level-based):
 * 1. on start, every key `listKeys` returns (after reading the change feed's position, so nothing
 *    committed in between is missed);
 * 2. the store's change feed for `kinds`, mapped by `keysOfChange`;
 * 3. a periodic resync that lists every key again (drift in the runtime raises no store change).
 *
 * @example
 *   const controller = new Controller({ name: 'deployment', reconciler, store, kinds: ['Deployment'],
 *     keysOfChange: (c) => [c.key], listKeys: () => allDeploymentIds(store) });
 *   await controller.start();
 *   …
 *   await controller.stop();
 */
import type { ResourceKind } from '../core/resources.js';
import type { Change, Store } from '../store/store.js';
import { type Clock, every, realClock, sleep } from './clock.js';
import { type Reconciler, TerminalError } from './reconciler.js';
import { WorkQueue, type WorkQueueOptions } from './work-queue.js';

/** Settings of a {@link Controller}; every default is in {@link CONTROLLER_DEFAULTS}. */
export interface ControllerOptions {
  /** For messages, e.g. `deployment`. */
  name: string;
  reconciler: Reconciler;
  /** Whose change feed wakes the controller. */
  store: Pick<Store, 'watch' | 'latestSequence'>;
  /** Change-feed kinds to watch. */
  kinds: readonly ResourceKind[];
  /** The keys a change affects (often just `[change.key]`). */
  keysOfChange(change: Change): readonly string[];
  /** Every key that may need reconciling, for the start and the periodic resync. */
  listKeys(signal: AbortSignal): Promise<Iterable<string>>;
  /** Keys reconciled concurrently (one key is never reconciled twice at once). */
  workers?: number;
  /** How often every key is reconciled again even without changes. */
  resyncIntervalMs?: number;
  /** Wait before re-opening a change feed that failed. */
  watchRetryMs?: number;
  /** Backoff of failed reconciles (the queue runs on {@link clock}). */
  queue?: Omit<WorkQueueOptions, 'clock'>;
  /** Time and timers of requeues, backoff, resyncs and watch retries; the real clock by default. */
  clock?: Clock;
  /** Records a {@link TerminalError} (e.g. on the resource's status); the key is not retried. */
  onTerminalError?(key: string, error: TerminalError): void | Promise<void>;
  /** Reports a failure that will be retried (`retryInMs`), or a failed resync or watch. */
  onError?(key: string | undefined, error: unknown, retryInMs: number | undefined): void;
  /**
   * Records a reconcile failure that will be retried, with the count of consecutive failures of
   * the key (e.g. as a condition on the resource, so a failure that repeats is visible where
   * users look, not only in the log). Awaited; its own failure is reported through `onError`.
   */
  onRetriedError?(key: string, error: unknown, failures: number): void | Promise<void>;
}

/** Defaults of {@link ControllerOptions}. */
export const CONTROLLER_DEFAULTS = { workers: 2, resyncIntervalMs: 30_000, watchRetryMs: 1_000 } as const;

function logError(name: string): NonNullable<ControllerOptions['onError']> {
  return (key, error, retryInMs) => {
    const message = error instanceof Error ? error.message : String(error);
    const retry = retryInMs === undefined ? '' : `; retrying in ${retryInMs} ms`;
    console.error(`controller ${name}${key === undefined ? '' : ` ${key}`}: ${message}${retry}`);
  };
}

/** See the module comment. Start once; after {@link stop}, make a new one. */
export class Controller {
  readonly #options: ControllerOptions;
  readonly #queue: WorkQueue;
  readonly #abort = new AbortController();
  readonly #onError: NonNullable<ControllerOptions['onError']>;
  readonly #tasks: Promise<void>[] = [];
  readonly #clock: Clock;
  #stopResync: (() => void) | undefined;
  #resyncing: Promise<void> | undefined;
  #started = false;

  constructor(options: ControllerOptions) {
    this.#options = options;
    this.#clock = options.clock ?? realClock;
    this.#queue = new WorkQueue({ ...options.queue, clock: this.#clock });
    this.#onError = options.onError ?? logError(options.name);
  }

  /** Lists every key once, then starts the workers, the change-feed watch and the resync timer. */
  async start(): Promise<void> {
    if (this.#started) throw new Error(`controller ${this.#options.name}: already started`);
    this.#started = true;
    const since = await this.#options.store.latestSequence();
    await this.#resync();
    const { workers = CONTROLLER_DEFAULTS.workers, resyncIntervalMs = CONTROLLER_DEFAULTS.resyncIntervalMs } =
      this.#options;
    for (let i = 0; i < workers; i++) this.#tasks.push(this.#work());
    this.#tasks.push(this.#watch(since));
    this.#stopResync = every(this.#clock, resyncIntervalMs, () => {
      this.#resyncing ??= this.#resync().finally(() => (this.#resyncing = undefined));
    });
  }

  /** Reconciles `key` soon, e.g. when something outside the store changed. */
  enqueue(key: string): void {
    this.#queue.add(key);
  }

  /**
   * Stops: aborts in-flight reconciles' signals, stops handing out keys, and waits for the workers
   * and the watch to end. Whatever was half done is picked up by the next controller's start.
   */
  async stop(): Promise<void> {
    this.#abort.abort();
    this.#queue.shutdown();
    this.#stopResync?.();
    await Promise.all([...this.#tasks, this.#resyncing]);
  }

  async #resync(): Promise<void> {
    try {
      for (const key of await this.#options.listKeys(this.#abort.signal)) this.#queue.add(key);
    } catch (error) {
      if (!this.#abort.signal.aborted) this.#onError(undefined, error, undefined);
    }
  }

  async #watch(since: number): Promise<void> {
    const { store, kinds, keysOfChange, watchRetryMs = CONTROLLER_DEFAULTS.watchRetryMs } = this.#options;
    const signal = this.#abort.signal;
    let cursor = since;
    while (!signal.aborted) {
      try {
        for await (const change of store.watch({ since: cursor, kinds, signal })) {
          cursor = change.sequence;
          for (const key of keysOfChange(change)) this.#queue.add(key);
        }
        return; // ended without error: stopped, or the store closed
      } catch (error) {
        if (signal.aborted) return;
        this.#onError(undefined, error, watchRetryMs);
        await sleep(this.#clock, watchRetryMs, signal);
      }
    }
  }

  async #work(): Promise<void> {
    for (;;) {
      const key = await this.#queue.get();
      if (key === undefined) return;
      try {
        await this.#reconcile(key);
      } finally {
        this.#queue.done(key);
      }
    }
  }

  /** The one place that turns a reconcile's outcome into what happens next. */
  async #reconcile(key: string): Promise<void> {
    const signal = this.#abort.signal;
    try {
      const result = await this.#options.reconciler.reconcile(key, { signal });
      this.#queue.forget(key);
      if (result.requeueAfterMs !== undefined) this.#queue.addAfter(key, result.requeueAfterMs);
    } catch (error) {
      if (signal.aborted) return; // stopping: the next start lists this key again
      if (error instanceof TerminalError) {
        this.#queue.forget(key);
        try {
          await this.#options.onTerminalError?.(key, error);
        } catch (recordError) {
          this.#onError(key, recordError, this.#queue.addRateLimited(key));
        }
        return;
      }
      this.#onError(key, error, this.#queue.addRateLimited(key));
      try {
        await this.#options.onRetriedError?.(key, error, this.#queue.failures(key));
      } catch (recordError) {
        if (!signal.aborted) this.#onError(key, recordError, undefined);
      }
    }
  }
}
