/**
 * A {@link Clock} that moves only when a test says so: timers fire in due order during
 * {@link ManualClock.advance}, and after each one the promise work it started is let run, so a
 * test of delays, requeues, backoff or resyncs advances time instead of sleeping.
 *
 * "Settled" means: the promise jobs and immediates queued by the fired callbacks have run (a few
 * rounds of `setImmediate`). Work that waits on real I/O (a store write) is not covered: wait for
 * it with a poll on its result.
 *
 * @example
 *   const clock = new ManualClock();
 *   const queue = new WorkQueue({ clock });
 *   queue.addAfter('k', 60);
 *   await clock.advance(59); // not yet
 *   await clock.advance(1); // 'k' is queued
 */
import type { Clock, ClockTimer } from '../../src/controller/clock.js';

interface Pending {
  id: number;
  at: number;
  callback: () => void;
}

/** Rounds of `setImmediate` after each fired timer: enough for a chain of awaits to finish. */
const SETTLE_ROUNDS = 10;

/** See the module comment. */
export class ManualClock implements Clock {
  #now: number;
  #nextId = 1;
  readonly #pending = new Map<number, Pending>();

  constructor(start = Date.parse('2026-12-01T10:00:00Z')) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(callback: () => void, delayMs: number): ClockTimer {
    const id = this.#nextId++;
    this.#pending.set(id, { id, at: this.#now + Math.max(0, delayMs), callback });
    return id;
  }

  clearTimeout(timer: ClockTimer): void {
    this.#pending.delete(timer as number);
  }

  /** Timers armed and not yet fired or cleared. */
  get pendingTimers(): number {
    return this.#pending.size;
  }

  /** Moves time forward by `ms`, firing every timer that falls due on the way (in order), settling after each. */
  async advance(ms: number): Promise<void> {
    const target = this.#now + ms;
    await settle();
    for (;;) {
      const next = this.#due(target);
      if (next === undefined) break;
      this.#pending.delete(next.id);
      this.#now = Math.max(this.#now, next.at);
      next.callback();
      await settle();
    }
    this.#now = target;
    await settle();
  }

  /** Advances in `stepMs` steps until `condition` holds; fails after `limitMs` of clock time. */
  async advanceUntil(condition: () => boolean, what: string, { stepMs = 1, limitMs = 60_000 } = {}): Promise<void> {
    const deadline = this.#now + limitMs;
    while (!condition()) {
      if (this.#now >= deadline) throw new Error(`clock: ${what} did not happen within ${limitMs} ms of clock time`);
      await this.advance(stepMs);
    }
  }

  /** The earliest timer due at or before `target` (first armed first among equals). */
  #due(target: number): Pending | undefined {
    let best: Pending | undefined;
    for (const p of this.#pending.values())
      if (p.at <= target && (best === undefined || p.at < best.at || (p.at === best.at && p.id < best.id))) best = p;
    return best;
  }
}

/** Lets queued promise jobs and immediates run. */
export async function settle(): Promise<void> {
  for (let i = 0; i < SETTLE_ROUNDS; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}
