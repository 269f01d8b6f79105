/**
 * Token buckets for a route's `rateLimit` (route-table.ts): one bucket per caller key (a token id
 * or a client address), `burst` requests deep, refilled continuously at `requestsPerSecond`. A
 * request takes one token; an empty bucket refuses it and says how long until one is back
 * (`Retry-After`, whole seconds rounded up).
 *
 * Memory is bounded: a bucket left alone long enough to refill completely is the same as a new
 * one, so it can be forgotten. Such idle buckets are swept at most once per refill period (each
 * sweep walks the map once), and the map never holds more than `maxBuckets`: past that, the
 * oldest-created buckets go first (a forgotten caller simply starts again with a full bucket).
 * Buckets are plain objects updated in place, so a request costs one Map lookup and a few
 * arithmetic operations.
 *
 * @example
 *   const buckets = new TokenBuckets({ requestsPerSecond: 10, burst: 20, per: 'client' });
 *   const wait = buckets.take('10.0.0.7');   // 0: admitted; > 0: refused, retry after `wait` seconds
 */
import { performance } from 'node:perf_hooks';
import type { RouteRateLimit } from '../protocol/route-table.js';

/** Milliseconds, monotonic: `performance` by default, a manual clock in tests. */
export interface LimiterClock {
  now(): number;
}

/** Default most buckets one route keeps. */
export const MAX_BUCKETS = 100_000;

interface Bucket {
  tokens: number;
  /** When `tokens` was last brought up to date (clock ms). */
  at: number;
}

/** One route's buckets; see the module comment. */
export class TokenBuckets {
  private readonly buckets = new Map<string, Bucket>();
  private readonly perMs: number;
  /** Time for an empty bucket to fill up: after this long untouched, a bucket is forgettable. */
  private readonly refillMs: number;
  private nextSweep: number;

  constructor(
    readonly limit: RouteRateLimit,
    private readonly clock: LimiterClock = performance,
    private readonly maxBuckets = MAX_BUCKETS,
  ) {
    this.perMs = limit.requestsPerSecond / 1000;
    this.refillMs = limit.burst / this.perMs;
    this.nextSweep = clock.now() + Math.max(this.refillMs, 1_000);
  }

  /** Buckets held now. */
  get size(): number {
    return this.buckets.size;
  }

  /** Takes a token from `key`'s bucket: 0 when the request may go on, else the seconds until a token is back (≥ 1). */
  take(key: string): number {
    const now = this.clock.now();
    if (now >= this.nextSweep) this.sweep(now);
    let bucket = this.buckets.get(key);
    if (bucket === undefined) {
      if (this.buckets.size >= this.maxBuckets) this.evictOldest();
      bucket = { tokens: this.limit.burst, at: now };
      this.buckets.set(key, bucket);
    } else if (now > bucket.at) {
      bucket.tokens = Math.min(this.limit.burst, bucket.tokens + (now - bucket.at) * this.perMs);
      bucket.at = now;
    }
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - bucket.tokens) / this.perMs / 1000));
  }

  /** Forgets every bucket that has been idle long enough to be full again. */
  private sweep(now: number): void {
    this.nextSweep = now + Math.max(this.refillMs, 1_000);
    for (const [key, bucket] of this.buckets) {
      if (bucket.tokens + (now - bucket.at) * this.perMs >= this.limit.burst) this.buckets.delete(key);
    }
  }

  /** Makes room for one bucket: the oldest-created tenth goes (at least one), so this is rare. */
  private evictOldest(): void {
    let n = Math.max(1, Math.floor(this.maxBuckets / 10));
    for (const key of this.buckets.keys()) {
      this.buckets.delete(key);
      if (--n === 0) return;
    }
  }
}
