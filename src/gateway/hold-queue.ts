/**
 * Hold queues for scale from zero. While a route that has `hold` has no target with a backend, its
 * requests wait here (FIFO, at most `hold.queue` per route, each for at most `hold.timeoutMs`)
 * instead of getting 503 at once, and the gateway tells its owner that the deployment has demand
 * (`onHold`: when the route's queue goes from empty to one request, then once per `reminderMs`
 * while it stays non-empty, so a missed call is made up for). After every table swap
 * {@link HoldQueues.retry} offers each held request, in arrival order, the new table.
 *
 * Only requests that find no replica come here, so none of this is on the hot path. A queue is a
 * Map (insertion-ordered, O(1) removal for a client that goes away) from request to its timer.
 * One rule keeps the bookkeeping in one place: a request leaves the queue by calling
 * {@link HoldQueues.remove} itself, whatever the reason (forwarded, answered, client gone).
 */
import type { CompiledRoute, CompiledTable } from './compiled-table.js';
import type { RouteStats } from './request-stats.js';

/** A request waiting in a hold queue (the proxy's exchange). */
export interface HeldRequest {
  /**
   * A new table is in use; `route` is the request's route in it (undefined: removed). Returns
   * true when the request left the hold (forwarded, or answered), false when it keeps waiting.
   */
  retry(table: CompiledTable, route: CompiledRoute | undefined): boolean;
  /** Held for the route's whole `timeoutMs`: answer 503. */
  expire(): void;
  /** The gateway is stopping: answer 503. */
  abort(): void;
}

/** Called with a route that has held requests; see the module comment. */
export type OnHold = (environment: string, deployment: string) => void;

/** How often `onHold` is repeated while a route's requests stay held. */
export const HOLD_REMINDER_MS = 1_000;

/** One route's waiting requests. */
class RouteQueue {
  /** Request → its timeout, in arrival order. */
  readonly entries = new Map<HeldRequest, NodeJS.Timeout>();
  reminder: NodeJS.Timeout | undefined;

  constructor(
    readonly environment: string,
    readonly deployment: string,
    /** The route's stats in the table in use (they carry across swaps while the route stays). */
    public stats: RouteStats,
  ) {}
}

/** Every route's hold queue; one per gateway. */
export class HoldQueues {
  private readonly queues = new Map<string, RouteQueue>();
  private stopped = false;

  constructor(
    private readonly onHold: OnHold | undefined,
    private readonly reminderMs = HOLD_REMINDER_MS,
  ) {}

  /** Requests held now, over every route. */
  get size(): number {
    let n = 0;
    for (const q of this.queues.values()) n += q.entries.size;
    return n;
  }

  /** Whether `route`'s queue is at `hold.queue` (a new request would be refused). */
  isFull(route: CompiledRoute): boolean {
    return (this.queues.get(route.prefix)?.entries.size ?? 0) >= (route.hold?.queue ?? 0);
  }

  /** Holds `request` for `route`, which has `hold` and room (see {@link isFull}). */
  add(route: CompiledRoute, request: HeldRequest): void {
    const hold = route.hold!;
    let q = this.queues.get(route.prefix);
    if (q === undefined) {
      q = new RouteQueue(route.environment, route.deployment, route.routeStats);
      this.queues.set(route.prefix, q);
    }
    q.entries.set(
      request,
      setTimeout(() => request.expire(), hold.timeoutMs),
    );
    this.track(q, route.routeStats);
    q.stats.heldTotal++;
    if (q.entries.size === 1) {
      this.notify(q);
      q.reminder = setInterval(() => this.notify(q), this.reminderMs);
      q.reminder.unref();
    }
  }

  /** Takes `request` out of the queue of the route with `prefix`; nothing if it is not there. */
  remove(request: HeldRequest, prefix: string): void {
    const q = this.queues.get(prefix);
    const timer = q?.entries.get(request);
    if (q === undefined || timer === undefined) return;
    clearTimeout(timer);
    q.entries.delete(request);
    q.stats.held = q.entries.size;
    if (q.entries.size === 0) {
      clearInterval(q.reminder);
      this.queues.delete(prefix);
    }
  }

  /** After a table swap: offers every held request the new table, oldest first per route. */
  retry(table: CompiledTable): void {
    for (const [prefix, q] of [...this.queues]) {
      const route = table.routes.get(prefix);
      if (route !== undefined) this.track(q, route.routeStats);
      // Still nothing to forward to, for any request: skip the walk.
      if (route !== undefined && route.hold !== undefined && route.targets.length === 0 && route.rules === undefined)
        continue;
      for (const request of [...q.entries.keys()]) request.retry(table, route);
    }
  }

  /** Set by {@link abortAll}: the gateway is stopping and holds nothing more. */
  get closed(): boolean {
    return this.stopped;
  }

  /** Gateway stop: answers every held request; nothing is held afterwards. */
  abortAll(): void {
    this.stopped = true;
    for (const q of [...this.queues.values()]) {
      for (const request of [...q.entries.keys()]) request.abort();
    }
  }

  /** Keeps the `held` gauge on the stats of the table in use. */
  private track(q: RouteQueue, stats: RouteStats): void {
    if (q.stats !== stats) {
      q.stats.held = 0;
      q.stats = stats;
    }
    stats.held = q.entries.size;
  }

  private notify(q: RouteQueue): void {
    try {
      this.onHold?.(q.environment, q.deployment);
    } catch {
      // The callback's failures are its own to report; holding goes on regardless.
    }
  }
}
