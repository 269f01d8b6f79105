/**
 * The built-in metrics source: samples gateway snapshots on a timer, keeps them for a while, and
 * answers window queries from the differences between samples, so canary analysis works with no
 * Prometheus. Several gateways are summed; each one's samples are kept apart because a restart of
 * one gateway (its counters drop to zero) must not be confused with the others' growth.
 *
 * A window query for the trailing `windowMs` uses, per gateway, the samples from the one at or just
 * before now − windowMs up to the newest (see `window-math.ts` for resets and quantiles). Right
 * after start there is less history than asked; `coveredMs` then says how much was covered.
 *
 * @example
 *   const source = new BuiltinMetricsSource({ providers: [() => gateway.snapshot()] });
 *   source.start();
 *   await source.sampleNow(); // data up to this moment
 *   const m = await source.revision({ environment: 'production', deployment: 'risk', revision: 4, windowMs: 5000 });
 */
import type { GatewaySnapshot } from '../gateway/gateway-snapshot.js';
import type { MetricsSource, RevisionMetrics, RevisionWindow, ShadowMetrics } from './metrics-source.js';
import {
  addRevisionIncrease, addShadowIncrease, emptyRevisionIncrease, emptyShadowIncrease, revisionMetrics, shadowMetrics,
} from './window-math.js';

/** Where snapshots come from: a gateway in this process, or {@link scrapeGatewaySnapshot} for another. */
export type SnapshotProvider = () => GatewaySnapshot | Promise<GatewaySnapshot>;

/** Settings of a {@link BuiltinMetricsSource}; every default is in {@link BUILTIN_SOURCE_DEFAULTS}. */
export interface BuiltinSourceOptions {
  /** One per gateway; their counts are summed. */
  providers: readonly SnapshotProvider[];
  /** Time between samples while started. */
  sampleIntervalMs?: number;
  /** How long samples are kept: the longest window that can be asked for. */
  retentionMs?: number;
  /** Milliseconds since the epoch; `Date.now` by default (tests pass their own). */
  clock?: () => number;
  /** Called when a provider fails; that gateway simply has no sample this round. */
  onError?: (error: Error, provider: number) => void;
}

/** Defaults of {@link BuiltinSourceOptions}. */
export const BUILTIN_SOURCE_DEFAULTS = {
  sampleIntervalMs: 250,
  retentionMs: 15 * 60_000,
} as const;

/** A source that can take a fresh sample on demand, so a decision uses data up to this moment. */
export interface Refreshable {
  sampleNow(): Promise<void>;
}

interface Sample {
  /** Clock reading when the snapshot arrived. */
  readonly time: number;
  readonly snapshot: GatewaySnapshot;
}

/** See the module comment. */
export class BuiltinMetricsSource implements MetricsSource, Refreshable {
  readonly name = 'builtin';
  /** The last error of each provider, cleared by its next good sample. */
  readonly lastErrors: (Error | undefined)[];
  private readonly providers: readonly SnapshotProvider[];
  private readonly intervalMs: number;
  private readonly retentionMs: number;
  private readonly clock: () => number;
  private readonly onError: ((error: Error, provider: number) => void) | undefined;
  /** Per provider, oldest first. */
  private readonly history: Sample[][];
  private timer: NodeJS.Timeout | undefined;
  /** Samples are taken one round at a time, in order. */
  private chain: Promise<void> = Promise.resolve();
  private queued = 0;

  constructor(options: BuiltinSourceOptions) {
    if (options.providers.length === 0) throw new Error('BuiltinMetricsSource needs at least one snapshot provider');
    this.providers = options.providers;
    this.intervalMs = options.sampleIntervalMs ?? BUILTIN_SOURCE_DEFAULTS.sampleIntervalMs;
    this.retentionMs = options.retentionMs ?? BUILTIN_SOURCE_DEFAULTS.retentionMs;
    this.clock = options.clock ?? Date.now;
    this.onError = options.onError;
    this.history = this.providers.map(() => []);
    this.lastErrors = this.providers.map(() => undefined);
  }

  /** Takes a sample now and then every `sampleIntervalMs` until {@link stop}. */
  start(): void {
    if (this.timer !== undefined) return;
    void this.sampleNow();
    // A round still running when the timer fires is not doubled up: slow gateways just sample less often.
    this.timer = setInterval(() => {
      if (this.queued === 0) void this.sampleNow();
    }, this.intervalMs);
    this.timer.unref();
  }

  /** Stops the timer and waits for a round in progress. Samples already taken stay queryable. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.chain;
  }

  /** Samples every provider once (after any round in progress) and resolves when that is recorded. */
  sampleNow(): Promise<void> {
    this.queued++;
    this.chain = this.chain.then(() => this.round()).finally(() => {
      this.queued--;
    });
    return this.chain;
  }

  /** Number of samples held for each provider (for tests and diagnostics). */
  sampleCounts(): number[] {
    return this.history.map((h) => h.length);
  }

  revision(w: RevisionWindow): Promise<RevisionMetrics> {
    const revision = String(w.revision);
    const bounds = this.bounds();
    const increase = emptyRevisionIncrease(bounds.length);
    const coveredMs = this.walk(w.windowMs, (older, newer) => {
      const find = (s: GatewaySnapshot) => s.revisions.find((r) => r.revision === revision && r.deployment === w.deployment && r.environment === w.environment);
      const n = find(newer);
      if (n === undefined) return;
      // A gateway whose histogram has other bounds (another version) still counts responses.
      if (sameBounds(newer.latencyBuckets, bounds) && sameBounds(older.latencyBuckets, bounds)) {
        addRevisionIncrease(increase, find(older), n);
      } else {
        const codesOnly = emptyRevisionIncrease(bounds.length);
        addRevisionIncrease(codesOnly, find(older), n);
        for (const [code, k] of Object.entries(codesOnly.codes)) increase.codes[code] = (increase.codes[code] ?? 0) + k;
      }
    });
    return Promise.resolve(revisionMetrics(increase, bounds, coveredMs));
  }

  shadow(w: RevisionWindow): Promise<ShadowMetrics> {
    const increase = emptyShadowIncrease();
    this.walk(w.windowMs, (older, newer) => {
      const find = (s: GatewaySnapshot) => s.shadows.find((r) => r.revision === w.revision && r.deployment === w.deployment && r.environment === w.environment);
      const n = find(newer);
      if (n !== undefined) addShadowIncrease(increase, find(older), n);
    });
    return Promise.resolve(shadowMetrics(increase));
  }

  /**
   * Calls `pair` for every consecutive pair of samples in the window, per provider, and returns the
   * longest span covered by any provider.
   */
  private walk(windowMs: number, pair: (older: GatewaySnapshot, newer: GatewaySnapshot) => void): number {
    const from = this.clock() - windowMs;
    let covered = 0;
    for (const samples of this.history) {
      if (samples.length < 2) continue;
      const first = Math.max(0, lastAtOrBefore(samples, from));
      for (let i = first + 1; i < samples.length; i++) pair(samples[i - 1]!.snapshot, samples[i]!.snapshot);
      covered = Math.max(covered, samples[samples.length - 1]!.time - samples[first]!.time);
    }
    return covered;
  }

  /** Bucket bounds of the newest sample of the first provider that has one. */
  private bounds(): readonly number[] {
    for (const samples of this.history) {
      const last = samples[samples.length - 1];
      if (last !== undefined) return last.snapshot.latencyBuckets;
    }
    return [];
  }

  private async round(): Promise<void> {
    await Promise.all(this.providers.map(async (provider, i) => {
      try {
        const snapshot = await provider();
        const samples = this.history[i]!;
        // Never before the previous sample, so the history stays in order if the wall clock steps back.
        const time = Math.max(this.clock(), samples[samples.length - 1]?.time ?? -Infinity);
        samples.push({ time, snapshot });
        // Keep one sample at or before the retention cutoff so a window of `retentionMs` has a start.
        const keepFrom = lastAtOrBefore(samples, time - this.retentionMs);
        if (keepFrom > 0) samples.splice(0, keepFrom);
        this.lastErrors[i] = undefined;
      } catch (error) {
        this.lastErrors[i] = error as Error;
        this.onError?.(error as Error, i);
      }
    }));
  }
}

/** Index of the last sample with time ≤ t, or -1. Samples are in time order. */
function lastAtOrBefore(samples: readonly Sample[], t: number): number {
  let lo = 0;
  let hi = samples.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (samples[mid]!.time <= t) {
      found = mid;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  return found;
}

function sameBounds(a: readonly number[], b: readonly number[]): boolean {
  return a === b || (a.length === b.length && a.every((x, i) => x === b[i]));
}
