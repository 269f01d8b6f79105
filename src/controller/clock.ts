/**
 * The time a {@link Controller} and its {@link WorkQueue} run on: the current time and one-shot
 * timers, injectable so tests of delays, requeues, backoff and resyncs advance a fake clock instead
 * of waiting (see `test/support/fake-clock.ts`). {@link realClock} is the default.
 *
 * Only one-shot timers: the controller's periodic resync re-arms its timer after each round
 * ({@link every}), and a wait that may be cut short is {@link sleep} with an abort signal.
 *
 * @example
 *   const queue = new WorkQueue({ clock: fakeClock });
 *   queue.addAfter('k', 500);
 *   await fakeClock.advance(500); // 'k' is queued now
 */

/** A pending timer of a {@link Clock}; only its clock can cancel it. */
export type ClockTimer = unknown;

/** Time and timers (see the module comment). */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Calls `callback` once, after `delayMs`. */
  setTimeout(callback: () => void, delayMs: number): ClockTimer;
  /** Cancels a timer of this clock that has not fired yet; does nothing otherwise. */
  clearTimeout(timer: ClockTimer): void;
}

/** The process's clock: `Date.now` and Node's timers. */
export const realClock: Clock = {
  now: () => Date.now(),
  setTimeout: (callback, delayMs) => setTimeout(callback, delayMs),
  clearTimeout: (timer) => clearTimeout(timer as NodeJS.Timeout),
};

/** Resolves after `delayMs` on `clock`, or at once when `signal` aborts (never rejects). */
export function sleep(clock: Clock, delayMs: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      clock.clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = clock.setTimeout(done, delayMs);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/**
 * Calls `callback` every `intervalMs` on `clock` until the returned function is called. Each
 * timer is armed when the previous one fired, like `setInterval`.
 */
export function every(clock: Clock, intervalMs: number, callback: () => void): () => void {
  let stopped = false;
  let timer: ClockTimer;
  const arm = (): void => {
    timer = clock.setTimeout(() => {
      if (stopped) return;
      arm();
      callback();
    }, intervalMs);
  };
  arm();
  return () => {
    stopped = true;
    clock.clearTimeout(timer);
  };
}
