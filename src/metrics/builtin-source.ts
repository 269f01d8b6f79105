/**
 * The built-in metrics source: samples gateway snapshots on a timer and answers window queries
 * from what the counters grew between samples, so canary analysis works with no Prometheus.
 *
 * Each sampling round stores, per series that changed, its increase since the previous round,
 * taken per gateway against that gateway's own previous snapshot (so a restart of one gateway,
 * whose counters drop to zero, is read as a reset and does not disturb the others; see
 * `window-math.ts`). Storing increases rather than snapshots keeps memory small: idle series cost
 * nothing, and rounds older than `fullResolutionMs` are merged into steps of `coarseResolutionMs`,
 * which loses no counts (increases add up) and only makes long windows start up to one step early.
 *
 * A window query for the trailing `windowMs` sums the rounds after the one at or just before
 * now − windowMs. Right after start there is less history than asked; `coveredMs` then says how
 * much was covered. A gateway's first snapshot only sets its baseline.
 *
 * @example
 *   const source = new BuiltinMetricsSource({ providers: [() => gateway.snapshot()] });
 *   source.start();
 *   await source.sampleNow(); // data up to this moment
 *   const m = await source.revision({ environment: 'production', deployment: 'risk', revision: 4, windowMs: 5000 });
 */
import type { GatewaySnapshot, RouteCounters } from '../protocol/gateway-snapshot.js';
import type {
  DeploymentTraffic,
  DeploymentWindow,
  MetricsSource,
  RevisionMetrics,
  RevisionWindow,
  ShadowMetrics,
} from './metrics-source.js';
import {
  addRevisionIncrease,
  addShadowIncrease,
  emptyRevisionIncrease,
  emptyShadowIncrease,
  isZeroRevisionIncrease,
  isZeroShadowIncrease,
  mergeRevisionIncrease,
  mergeShadowIncrease,
  type RevisionIncrease,
  revisionMetrics,
  type ShadowIncrease,
  shadowMetrics,
} from './window-math.js';

/** Where snapshots come from: a gateway in this process, or {@link scrapeGatewaySnapshot} for another. */
export type SnapshotProvider = () => GatewaySnapshot | Promise<GatewaySnapshot>;

/** Settings of a {@link BuiltinMetricsSource}; every default is in {@link BUILTIN_SOURCE_DEFAULTS}. */
export interface BuiltinSourceOptions {
  /** One per gateway; their counts are summed. */
  providers: readonly SnapshotProvider[];
  /** Time between samples while started. */
  sampleIntervalMs?: number;
  /** How long history is kept: the longest window that can be asked for. */
  retentionMs?: number;
  /** History younger than this keeps every round. */
  fullResolutionMs?: number;
  /** Older history is merged into steps of this length. */
  coarseResolutionMs?: number;
  /** Milliseconds since the epoch; `Date.now` by default (tests pass their own). */
  clock?: () => number;
  /** Called when a provider fails; that gateway's growth is then counted at its next good sample. */
  onError?: (error: Error, provider: number) => void;
}

/** Defaults of {@link BuiltinSourceOptions}. */
export const BUILTIN_SOURCE_DEFAULTS = {
  sampleIntervalMs: 250,
  retentionMs: 15 * 60_000,
  fullResolutionMs: 60_000,
  coarseResolutionMs: 5_000,
} as const;

/** A source that can take a fresh sample on demand, so a decision uses data up to this moment. */
export interface Refreshable {
  sampleNow(): Promise<void>;
}

/** What grew during one round (or several merged ones), ending at `time`. */
interface Round {
  time: number;
  readonly revisions: Map<string, RevisionIncrease>;
  readonly shadows: Map<string, ShadowIncrease>;
  /** Per deployment: arrivals (from route counters) and summed latency (from every revision). */
  readonly deployments: Map<string, DeploymentIncrease>;
}

/** What one deployment's counters grew in a round. */
interface DeploymentIncrease {
  arrivals: number;
  latencySum: number;
  responses: number;
}

const seriesKey = (environment: string, deployment: string, revision: string | number) =>
  `${environment}\0${deployment}\0${revision}`;
const deploymentKey = (environment: string, deployment: string) => `${environment}\0${deployment}`;

/** See the module comment. */
export class BuiltinMetricsSource implements MetricsSource, Refreshable {
  readonly name = 'builtin';
  /** The last error of each provider, cleared by its next good sample. */
  readonly lastErrors: (Error | undefined)[];
  private readonly options: Required<Omit<BuiltinSourceOptions, 'onError'>> & Pick<BuiltinSourceOptions, 'onError'>;
  /** Each provider's previous snapshot, the baseline of its next increase. */
  private readonly previous: (GatewaySnapshot | undefined)[];
  /** Histogram bounds of the first snapshot with revision series; gateways with other bounds count responses only. */
  private bounds: readonly number[] | undefined;
  /** Oldest first. Rounds before index `settled` are in the merged (coarse) zone. */
  private readonly rounds: Round[] = [];
  private settled = 0;
  /** When each deployment last had traffic (outlives the retained history). */
  private readonly lastSeen = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  /** Rounds run one at a time, in order. */
  private chain: Promise<void> = Promise.resolve();
  private queued = 0;

  constructor(options: BuiltinSourceOptions) {
    if (options.providers.length === 0) throw new Error('BuiltinMetricsSource needs at least one snapshot provider');
    this.options = { ...BUILTIN_SOURCE_DEFAULTS, clock: Date.now, ...options };
    this.previous = options.providers.map(() => undefined);
    this.lastErrors = options.providers.map(() => undefined);
  }

  /** Takes a sample now and then every `sampleIntervalMs` until {@link stop}. */
  start(): void {
    if (this.timer !== undefined) return;
    void this.sampleNow();
    // A round still running when the timer fires is not doubled up: slow gateways just sample less often.
    this.timer = setInterval(() => {
      if (this.queued === 0) void this.sampleNow();
    }, this.options.sampleIntervalMs);
    this.timer.unref();
  }

  /** Stops the timer and waits for a round in progress. History already taken stays queryable. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.chain;
  }

  /** Samples every provider once (after any round in progress) and resolves when that is recorded. */
  sampleNow(): Promise<void> {
    this.queued++;
    this.chain = this.chain
      .then(() => this.round())
      .finally(() => {
        this.queued--;
      });
    return this.chain;
  }

  /** Rounds of history held (for tests and diagnostics). */
  historyLength(): number {
    return this.rounds.length;
  }

  /** A revision's responses, errors, rates and latency quantiles over the trailing window. */
  revision(w: RevisionWindow): Promise<RevisionMetrics> {
    const key = seriesKey(w.environment, w.deployment, w.revision);
    const bounds = this.bounds ?? [];
    const total = emptyRevisionIncrease(bounds.length);
    const coveredMs = this.sum(w.windowMs, (round) => {
      const d = round.revisions.get(key);
      if (d !== undefined) mergeRevisionIncrease(total, d);
    });
    return Promise.resolve(revisionMetrics(total, bounds, coveredMs));
  }

  /** A mirrored revision's shadow comparison over the trailing window. */
  shadow(w: RevisionWindow): Promise<ShadowMetrics> {
    const key = seriesKey(w.environment, w.deployment, w.revision);
    const total = emptyShadowIncrease();
    this.sum(w.windowMs, (round) => {
      const d = round.shadows.get(key);
      if (d !== undefined) mergeShadowIncrease(total, d);
    });
    return Promise.resolve(shadowMetrics(total));
  }

  /**
   * A deployment's arrivals, concurrency and gauges (see {@link DeploymentTraffic}). Arrivals come
   * from the gateways' route counters; a gateway without them (older) counts responses instead.
   */
  deployment(w: DeploymentWindow): Promise<DeploymentTraffic> {
    const key = deploymentKey(w.environment, w.deployment);
    const total: DeploymentIncrease = { arrivals: 0, latencySum: 0, responses: 0 };
    let lastRequestAt: number | undefined;
    const coveredMs = this.sum(w.windowMs, (round) => {
      const d = round.deployments.get(key);
      if (d === undefined) return;
      total.arrivals += d.arrivals;
      total.latencySum += d.latencySum;
      total.responses += d.responses;
      if (d.arrivals > 0 || d.responses > 0) lastRequestAt = round.time;
    });
    lastRequestAt ??= this.lastSeen.get(key);
    let inFlight = 0;
    let held = 0;
    for (const snapshot of this.previous) {
      const route = snapshot?.routes?.find((r) => r.environment === w.environment && r.deployment === w.deployment);
      inFlight += route?.inFlight ?? 0;
      held += route?.held ?? 0;
    }
    const seconds = coveredMs / 1000;
    return Promise.resolve({
      requestRate: seconds > 0 ? total.arrivals / seconds : 0,
      concurrency: seconds > 0 ? total.latencySum / seconds : 0,
      responses: total.responses,
      coveredMs,
      ...(lastRequestAt === undefined ? {} : { lastRequestAt }),
      inFlight,
      held,
    });
  }

  /** Calls `add` for every round after the window's start; returns the time span they cover. */
  private sum(windowMs: number, add: (round: Round) => void): number {
    const rounds = this.rounds;
    if (rounds.length < 2) return 0;
    const first = Math.max(0, lastAtOrBefore(rounds, this.options.clock() - windowMs));
    for (let i = first + 1; i < rounds.length; i++) add(rounds[i]!);
    return rounds[rounds.length - 1]!.time - rounds[first]!.time;
  }

  private async round(): Promise<void> {
    const snapshots = await Promise.all(
      this.options.providers.map(async (provider, i) => {
        try {
          const snapshot = await provider();
          this.lastErrors[i] = undefined;
          return snapshot;
        } catch (error) {
          this.lastErrors[i] = error as Error;
          this.options.onError?.(error as Error, i);
          return undefined;
        }
      }),
    );
    // A round where no gateway answered adds nothing; their growth shows up at the next good one.
    if (snapshots.every((s) => s === undefined)) return;
    // Never before the previous round, so the history stays in order if the wall clock steps back.
    const time = Math.max(this.options.clock(), this.rounds.at(-1)?.time ?? -Infinity);
    const round: Round = { time, revisions: new Map(), shadows: new Map(), deployments: new Map() };
    snapshots.forEach((snapshot, i) => {
      if (snapshot === undefined) return;
      const older = this.previous[i];
      this.previous[i] = snapshot;
      // A snapshot without revision series says nothing of the bounds: a scraped gateway that had
      // no traffic yet has no histogram series to read them from.
      if (this.bounds === undefined && snapshot.revisions.length > 0) this.bounds = snapshot.latencyBuckets;
      if (older !== undefined) this.addIncreases(round, older, snapshot);
    });
    for (const [key, d] of round.deployments) if (d.arrivals > 0 || d.responses > 0) this.lastSeen.set(key, time);
    this.rounds.push(round);
    this.compact(time);
  }

  private addIncreases(round: Round, older: GatewaySnapshot, newer: GatewaySnapshot): void {
    const bounds = this.bounds ?? [];
    const histogram =
      (older.revisions.length === 0 || sameBounds(older.latencyBuckets, bounds)) &&
      sameBounds(newer.latencyBuckets, bounds);
    const olderRevisions = new Map(older.revisions.map((r) => [seriesKey(r.environment, r.deployment, r.revision), r]));
    for (const r of newer.revisions) {
      const key = seriesKey(r.environment, r.deployment, r.revision);
      const d = emptyRevisionIncrease(bounds.length);
      addRevisionIncrease(d, olderRevisions.get(key), r);
      if (isZeroRevisionIncrease(d)) continue;
      if (!histogram) {
        d.buckets.fill(0);
        d.latencySum = 0;
        d.count = 0;
      }
      addDeploymentIncrease(round, deploymentKey(r.environment, r.deployment), {
        arrivals: 0,
        latencySum: d.latencySum,
        responses: d.count,
      });
      const into = round.revisions.get(key);
      if (into === undefined) round.revisions.set(key, d);
      else mergeRevisionIncrease(into, d);
    }
    const olderRoutes = new Map((older.routes ?? []).map((r) => [deploymentKey(r.environment, r.deployment), r]));
    for (const r of newer.routes ?? []) {
      const key = deploymentKey(r.environment, r.deployment);
      const arrivals = routeArrivals(olderRoutes.get(key), r);
      if (arrivals > 0) addDeploymentIncrease(round, key, { arrivals, latencySum: 0, responses: 0 });
    }
    // A gateway that reports no route counters: its responses stand in for arrivals.
    if (newer.routes === undefined) {
      for (const d of round.deployments.values()) d.arrivals = Math.max(d.arrivals, d.responses);
    }
    const olderShadows = new Map(older.shadows.map((s) => [seriesKey(s.environment, s.deployment, s.revision), s]));
    for (const s of newer.shadows) {
      const key = seriesKey(s.environment, s.deployment, s.revision);
      const d = emptyShadowIncrease();
      addShadowIncrease(d, olderShadows.get(key), s);
      if (isZeroShadowIncrease(d)) continue;
      const into = round.shadows.get(key);
      if (into === undefined) round.shadows.set(key, d);
      else mergeShadowIncrease(into, d);
    }
  }

  /** Drops history past the retention and merges rounds older than the full-resolution span. */
  private compact(now: number): void {
    const rounds = this.rounds;
    // Keep one round at or before the retention cutoff: it is the start of the longest window.
    const drop = lastAtOrBefore(rounds, now - this.options.retentionMs);
    if (drop > 0) {
      rounds.splice(0, drop);
      this.settled = Math.max(0, this.settled - drop);
    }
    // Merging round k−1 into round k removes the boundary at k−1's time; that is allowed while
    // the span it leaves (from round k−2 to round k) is at most one coarse step.
    const cutoff = now - this.options.fullResolutionMs;
    while (this.settled < rounds.length && rounds[this.settled]!.time < cutoff) {
      const k = this.settled;
      if (k >= 2 && rounds[k]!.time - rounds[k - 2]!.time <= this.options.coarseResolutionMs) {
        mergeRound(rounds[k]!, rounds[k - 1]!);
        rounds.splice(k - 1, 1);
      } else {
        this.settled++;
      }
    }
  }
}

/** Arrivals of a route between two samples; a decrease is a gateway restart (all of `newer` is growth). */
function routeArrivals(older: RouteCounters | undefined, newer: RouteCounters): number {
  if (older === undefined || newer.arrivals < older.arrivals) return newer.arrivals;
  return newer.arrivals - older.arrivals;
}

function addDeploymentIncrease(round: Round, key: string, d: DeploymentIncrease): void {
  const into = round.deployments.get(key);
  if (into === undefined) {
    round.deployments.set(key, { ...d });
    return;
  }
  into.arrivals += d.arrivals;
  into.latencySum += d.latencySum;
  into.responses += d.responses;
}

/** Adds `older`'s increases into `newer` (which keeps its later time). */
function mergeRound(newer: Round, older: Round): void {
  for (const [key, d] of older.deployments) addDeploymentIncrease(newer, key, d);
  for (const [key, d] of older.revisions) {
    const into = newer.revisions.get(key);
    if (into === undefined) newer.revisions.set(key, d);
    else mergeRevisionIncrease(into, d);
  }
  for (const [key, d] of older.shadows) {
    const into = newer.shadows.get(key);
    if (into === undefined) newer.shadows.set(key, d);
    else mergeShadowIncrease(into, d);
  }
}

/** Index of the last round with time ≤ t, or -1. Rounds are in time order. */
function lastAtOrBefore(rounds: readonly Round[], t: number): number {
  let lo = 0;
  let hi = rounds.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (rounds[mid]!.time <= t) {
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
