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
 * The rounds, their increases and their compaction are in `snapshot-rounds.ts`.
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
import type { GatewaySnapshot } from '../protocol/gateway-snapshot.js';
import type {
  DeploymentTraffic,
  DeploymentWindow,
  MetricsSource,
  RevisionMetrics,
  RevisionWindow,
  ShadowMetrics,
} from './metrics-source.js';
import {
  addIncreases,
  compactRounds,
  type DeploymentIncrease,
  deploymentKey,
  lastAtOrBefore,
  type Round,
  seriesKey,
} from './snapshot-rounds.js';
import {
  emptyRevisionIncrease,
  emptyShadowIncrease,
  mergeRevisionIncrease,
  mergeShadowIncrease,
  revisionMetrics,
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
      if (older !== undefined) addIncreases(round, older, snapshot, this.bounds ?? []);
    });
    for (const [key, d] of round.deployments) if (d.arrivals > 0 || d.responses > 0) this.lastSeen.set(key, time);
    this.rounds.push(round);
    this.settled = compactRounds(this.rounds, this.settled, time, this.options);
  }
}
