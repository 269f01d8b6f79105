/**
 * The horizontal (and vertical-advice) autoscaler: every `tickMs` it measures each autoscaled
 * deployment, asks the pure decision function (`core/autoscaling/decide.ts`) for a size, and
 * stores the decision in the deployment's Autoscaler record, where the deployment reconciler reads
 * it. Scaling never makes a revision: the spec holds the bounds, the record holds the size.
 *
 * Signals, per metric: `concurrency` and `rps` come from the gateways' counters over the stable
 * and panic windows (the built-in metrics source; requests held at a gateway count as in-flight
 * demand); `cpu` and `memory` from the runtime's per-replica usage, as percent of the request,
 * summed over replicas (for `cpu`, only replicas ready for `cpuStartupGraceMs`: a start-up is not
 * load, see `core/autoscaling/cpu-readiness.ts`); `custom` from a PromQL query. A Holt-Winters
 * forecast of the request rate (when `predictive.enabled`) can raise the size before an expected
 * rise.
 *
 * Every change of size is written together with an event that states the rule, the metric, its
 * value, the target and the window. The record is also refreshed every `refreshIntervalMs` so
 * status shows what was measured, the forecast with its error, and the CPU / memory suggestions.
 *
 * Restart: the record keeps the size, so a new autoscaler continues from it, and its scale-down
 * history is seeded with that size, so it never scales down sooner than `scaleDownDelay` after a
 * restart. Requests held at a gateway (a deployment at zero) wake the autoscaler at once through
 * {@link Autoscaler.activate}, without waiting for the next tick.
 */
import { deletionRequestedAt, deploymentId } from '../../core/deployment-identity.js';
import { hasErrorCode, unlessNotFound } from '../../core/errors.js';
import { parseCpu, parseMemory } from '../../core/quantities.js';
import type { AutoscalerState, Deployment, ScalingForecast, VerticalRecommendationView } from '../../core/resources.js';
import { boundsAt } from '../../core/autoscaling/schedule.js';
import {
  decide,
  initialState,
  type RecommenderState,
  type ScalingDecision,
  type ScalingObservation,
} from '../../core/autoscaling/decide.js';
import { forecastSeries } from '../../core/autoscaling/holt-winters.js';
import { autoscaled, initialSize, type ResolvedScaling, resolveScaling } from '../../core/autoscaling/scaling-spec.js';
import { countedCpuUsage, CPU_STARTUP_GRACE_MS, readySince } from '../../core/autoscaling/cpu-readiness.js';
import { recommendResources } from '../../core/autoscaling/vertical.js';
import type { DeploymentTraffic, MetricsSource } from '../../metrics/metrics-source.js';
import { KeyedSerial } from '../../runtime/keyed-serial.js';
import type { ReplicaUsage, Runtime } from '../../runtime/runtime.js';
import type { Store } from '../../store/store.js';
import { newEvent } from '../deployment-events.js';
import { listAll } from '../store-pages.js';
import { RateHistory } from './rate-history.js';
import { SampleWindow } from './sample-window.js';

/** Settings of {@link Autoscaler}; every default is in {@link AUTOSCALER_DEFAULTS}. */
export interface AutoscalerOptions {
  store: Store;
  /** Must answer `deployment()` for the concurrency and rps metrics, `query()` for custom ones. */
  metrics: MetricsSource;
  runtime: Pick<Runtime, 'list' | 'usage' | 'capabilities'>;
  tickMs?: number;
  /** The record is rewritten at least this often (status freshness), besides every size change. */
  refreshIntervalMs?: number;
  /** How often replica usage is sampled for vertical recommendations. */
  usageIntervalMs?: number;
  /** How often the vertical recommendation is recomputed. */
  recommendIntervalMs?: number;
  /** A replica's CPU counts for the cpu metric once it has been ready this long (see `core/autoscaling/cpu-readiness.ts`). */
  cpuStartupGraceMs?: number;
  now?: () => number;
  onError?: (deployment: string | undefined, error: unknown) => void;
}

/** Defaults of {@link AutoscalerOptions}. */
export const AUTOSCALER_DEFAULTS = {
  tickMs: 500,
  refreshIntervalMs: 15_000,
  usageIntervalMs: 5_000,
  recommendIntervalMs: 60_000,
  cpuStartupGraceMs: CPU_STARTUP_GRACE_MS,
} as const;

/** Usage samples kept per deployment for the vertical recommendation (about 3 h at one per 5 s per replica). */
const MAX_USAGE_SAMPLES = 2_000;
/** Usage samples copied into the record (so a restart does not start from nothing). */
const STORED_USAGE_SAMPLES = 500;

/** What the autoscaler keeps in memory per deployment between ticks. */
interface Tracked {
  /** The deployment's creation time: a deployment deleted and created again starts afresh. */
  created: string;
  startedAt: number;
  state: RecommenderState;
  record: AutoscalerState | undefined;
  samples: SampleWindow;
  history: RateHistory | undefined;
  /** The last fit; `desiredReplicas` is worked out when the record is written. */
  forecast: Omit<ScalingForecast, 'desiredReplicas'> | undefined;
  usage: { cpuCores: number; memoryBytes: number }[];
  lastUsageAt: number;
  lastRecommendAt: number;
  lastWriteAt: number;
  /** Set by {@link Autoscaler.activate}: demand seen at a gateway since the last tick. */
  demand: boolean;
  /** When each replica was first seen ready (its CPU counts after a grace). */
  readySince: Map<string, number>;
}

/** See the module comment. */
export class Autoscaler {
  readonly #o: AutoscalerOptions;
  readonly #tracked = new Map<string, Tracked>();
  readonly #serial = new KeyedSerial();
  #timer: NodeJS.Timeout | undefined;
  #ticking: Promise<void> | undefined;

  constructor(options: AutoscalerOptions) {
    this.#o = options;
  }

  /** Starts ticking (the first tick runs at once). */
  start(): void {
    if (this.#timer !== undefined) return;
    const tick = (): void => {
      this.#ticking ??= this.tick()
        .catch((e: unknown) => this.#o.onError?.(undefined, e))
        .finally(() => {
          this.#ticking = undefined;
        });
    };
    tick();
    this.#timer = setInterval(tick, this.#o.tickMs ?? AUTOSCALER_DEFAULTS.tickMs);
  }

  /** Stops ticking and waits for a tick under way. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#ticking;
    await this.#serial.idle();
  }

  /** One pass over every deployment: decides for the autoscaled ones, forgets the others. */
  async tick(): Promise<void> {
    const deployments = await listAll(this.#o.store.deployments);
    const environments = new Map((await listAll(this.#o.store.environments)).map((e) => [e.name, e]));
    const seen = new Set<string>();
    for (const d of deployments) {
      // Kubernetes environments get an HPA from the runtime; two autoscalers would fight.
      if (environments.get(d.environment)?.runtime === 'kubernetes' || !isCandidate(d)) continue;
      seen.add(d.id);
      await this.#serial.run(d.id, () => this.#evaluate(d)).catch((e: unknown) => this.#o.onError?.(d.id, e));
    }
    for (const id of this.#tracked.keys()) if (!seen.has(id)) this.#tracked.delete(id);
  }

  /**
   * A gateway holds requests for the deployment (it is at zero, or all replicas are gone): decide
   * now, with that demand. Returns false when there is no such autoscaled deployment.
   */
  async activate(environment: string, name: string): Promise<boolean> {
    const id = deploymentId(environment, name);
    const d = await unlessNotFound(this.#o.store.deployments.get(id));
    if (d === undefined || !isCandidate(d) || !autoscaled(d.configuration.scaling)) return false;
    await this.#serial.run(id, async () => {
      const tracked = await this.#track(d, this.#now());
      tracked.demand = true;
      await this.#evaluate(d);
    });
    return true;
  }

  #now(): number {
    return this.#o.now?.() ?? Date.now();
  }

  async #track(d: Deployment, now: number): Promise<Tracked> {
    const existing = this.#tracked.get(d.id);
    if (existing !== undefined && existing.created === d.metadata.created) return existing;
    const record = await unlessNotFound(this.#o.store.autoscalers.get(d.id));
    const current = record?.desiredReplicas ?? initialSize(d.configuration);
    const tracked: Tracked = {
      created: d.metadata.created,
      startedAt: now,
      state: initialState(now, current),
      record,
      samples: new SampleWindow(resolveScaling(d.configuration.scaling).stableWindow * 1000),
      history: undefined,
      forecast: record?.forecast,
      usage: [...(record?.usage ?? [])],
      lastUsageAt: 0,
      lastRecommendAt: 0,
      lastWriteAt: 0,
      demand: false,
      readySince: new Map(),
    };
    if (record?.panicUntil !== undefined)
      tracked.state = { ...tracked.state, panicUntil: Date.parse(record.panicUntil) };
    this.#tracked.set(d.id, tracked);
    return tracked;
  }

  async #evaluate(d: Deployment): Promise<void> {
    const now = this.#now();
    const tracked = await this.#track(d, now);
    if (!autoscaled(d.configuration.scaling)) return this.#adviseOnly(d, tracked, now);
    const scaling = resolveScaling(d.configuration.scaling);
    const bounds = boundsAt(scaling, new Date(now));
    const current = tracked.record?.desiredReplicas ?? initialSize(d.configuration);

    const window = (seconds: number) => ({ environment: d.environment, deployment: d.name, windowMs: seconds * 1000 });
    const deploymentTraffic = this.#o.metrics.deployment?.bind(this.#o.metrics);
    const [stableTraffic, panicTraffic] =
      deploymentTraffic === undefined
        ? [undefined, undefined]
        : await Promise.all([
            deploymentTraffic(window(scaling.stableWindow)),
            deploymentTraffic(window(scaling.panicWindow)),
          ]);
    const usage = await this.#usage(d, tracked, now, scaling.metric === 'cpu' || scaling.metric === 'memory');
    const signal = await this.#signal(d, scaling, tracked, now, stableTraffic, panicTraffic, usage);
    const held = (panicTraffic?.held ?? 0) + (tracked.demand ? 1 : 0);
    const lastRequestAt = ownRequestTime(d, stableTraffic?.lastRequestAt);
    tracked.demand = false;

    const bucketClosed = this.#recordRate(scaling, tracked, now, panicTraffic);
    const forecastValue = this.#forecastInMetricUnits(scaling, tracked, stableTraffic, signal.stable);

    const observation: ScalingObservation = {
      now,
      current,
      ready: d.status.readyReplicas,
      ...(signal.stable === undefined ? {} : { stable: signal.stable }),
      ...(signal.panic === undefined ? {} : { panic: signal.panic }),
      ...(lastRequestAt === undefined ? {} : { lastRequestAt }),
      startedAt: tracked.startedAt,
      held,
      ...(forecastValue === undefined ? {} : { forecast: forecastValue }),
    };
    const decision = decide(scaling, bounds, observation, tracked.state);
    tracked.state = decision.state;

    const recommendation = this.#recommend(d, tracked, now);
    const changed = decision.desired !== current;
    const due = now - tracked.lastWriteAt >= (this.#o.refreshIntervalMs ?? AUTOSCALER_DEFAULTS.refreshIntervalMs);
    if (
      !changed &&
      !due &&
      !bucketClosed &&
      recommendation === undefined &&
      tracked.record !== undefined &&
      tracked.record.problem === signal.problem
    )
      return;

    const forecast =
      tracked.forecast === undefined
        ? undefined
        : {
            ...tracked.forecast,
            desiredReplicas: forecastValue === undefined ? 0 : Math.ceil(forecastValue / scaling.target - 1e-9),
          };
    const history = tracked.history?.stored() ?? tracked.record?.history;
    const shownRecommendation = recommendation ?? tracked.record?.recommendation;
    const next: Omit<AutoscalerState, 'resourceVersion'> = {
      deployment: d.id,
      environment: d.environment,
      desiredReplicas: decision.desired,
      ...(changed
        ? { lastDecision: decisionRecord(now, current, decision) }
        : tracked.record?.lastDecision === undefined
          ? {}
          : { lastDecision: tracked.record.lastDecision }),
      ...(decision.state.panicUntil === undefined || decision.state.panicUntil <= now
        ? {}
        : { panicUntil: new Date(decision.state.panicUntil).toISOString() }),
      ...(lastRequestAt === undefined ? {} : { lastRequestAt: new Date(lastRequestAt).toISOString() }),
      observed: {
        time: new Date(now).toISOString(),
        metric: scaling.metric,
        ...(signal.stable === undefined ? {} : { stable: round3(signal.stable) }),
        ...(signal.panic === undefined ? {} : { panic: round3(signal.panic) }),
        target: scaling.target,
        requestRate: round3(stableTraffic?.requestRate ?? 0),
        held,
      },
      ...(bounds.schedule === undefined
        ? {}
        : { schedule: { name: bounds.schedule, min: bounds.min, max: bounds.max } }),
      ...(forecast === undefined ? {} : { forecast }),
      ...(history === undefined ? {} : { history }),
      ...(shownRecommendation === undefined ? {} : { recommendation: shownRecommendation }),
      ...(tracked.usage.length === 0 ? {} : { usage: tracked.usage.slice(-STORED_USAGE_SAMPLES) }),
      ...(signal.problem === undefined ? {} : { problem: signal.problem }),
    };
    tracked.record = await this.#write(d, tracked.record, next, changed ? decision : undefined, current, now);
    tracked.lastWriteAt = now;
  }

  /** A fixed-size deployment: usage samples and CPU / memory recommendations only; the size stays the spec's. */
  async #adviseOnly(d: Deployment, tracked: Tracked, now: number): Promise<void> {
    await this.#usage(d, tracked, now, false);
    const recommendation = this.#recommend(d, tracked, now);
    if (recommendation === undefined) return;
    const {
      lastDecision: _decision,
      panicUntil: _panic,
      observed: _observed,
      forecast: _forecast,
      schedule: _schedule,
      problem: _problem,
      resourceVersion: _rv,
      ...kept
    } = tracked.record ?? ({} as Partial<AutoscalerState>);
    const next: Omit<AutoscalerState, 'resourceVersion'> = {
      ...kept,
      deployment: d.id,
      environment: d.environment,
      desiredReplicas: d.configuration.replicas,
      recommendation,
      usage: tracked.usage.slice(-STORED_USAGE_SAMPLES),
    };
    tracked.record = await this.#write(d, tracked.record, next, undefined, d.configuration.replicas, now);
    tracked.lastWriteAt = now;
  }

  /** The metric summed over replicas over both windows, or why it cannot be measured. */
  async #signal(
    d: Deployment,
    scaling: ResolvedScaling,
    tracked: Tracked,
    now: number,
    stable: DeploymentTraffic | undefined,
    panic: DeploymentTraffic | undefined,
    usage: readonly ReplicaUsage[] | undefined,
  ): Promise<{ stable?: number; panic?: number; problem?: string }> {
    const windows = (value: number | undefined): { stable?: number; panic?: number } => {
      if (value !== undefined) tracked.samples.add(now, value);
      const s = tracked.samples.average(now, scaling.stableWindow * 1000);
      const p = tracked.samples.average(now, scaling.panicWindow * 1000);
      return { ...(s === undefined ? {} : { stable: s }), ...(p === undefined ? {} : { panic: p }) };
    };
    switch (scaling.metric) {
      case 'concurrency':
      case 'rps': {
        if (stable === undefined || panic === undefined)
          return { problem: `metric ${scaling.metric} needs the built-in metrics source (gateway counters)` };
        if (stable.coveredMs === 0) return {};
        // Held requests are demand that has no replica yet: count them as in flight.
        return scaling.metric === 'concurrency'
          ? { stable: stable.concurrency, panic: panic.concurrency + panic.held }
          : { stable: stable.requestRate, panic: panic.requestRate };
      }
      case 'cpu':
      case 'memory': {
        if (usage === undefined)
          return { problem: `metric ${scaling.metric} needs a runtime that reports replica usage` };
        const request =
          scaling.metric === 'cpu'
            ? parseCpu(d.configuration.resources.cpu)
            : parseMemory(d.configuration.resources.memory);
        // A replica's start-up (model load, warm-up) is not load: its CPU counts once it has been ready a while.
        const counted =
          scaling.metric === 'cpu'
            ? countedCpuUsage(
                usage,
                tracked.readySince,
                now,
                this.#o.cpuStartupGraceMs ?? AUTOSCALER_DEFAULTS.cpuStartupGraceMs,
              )
            : usage;
        const percent = counted.reduce(
          (sum, u) => sum + (100 * (scaling.metric === 'cpu' ? u.cpuCores : u.memoryBytes)) / request,
          0,
        );
        return windows(counted.length === 0 ? undefined : percent);
      }
      case 'custom': {
        const query = this.#o.metrics.query?.bind(this.#o.metrics);
        if (query === undefined)
          return {
            problem: 'metric custom needs a Prometheus source (start wharf up with --prometheus-url)',
            ...windows(undefined),
          };
        try {
          return windows(await query(d.configuration.scaling.custom!.query));
        } catch (error) {
          return { problem: `custom metric query failed: ${(error as Error).message}`, ...windows(undefined) };
        }
      }
    }
  }

  /** Usage of every running replica of the deployment (sampled at most every `usageIntervalMs` unless `needed` now). */
  async #usage(d: Deployment, tracked: Tracked, now: number, needed: boolean): Promise<ReplicaUsage[] | undefined> {
    const { runtime } = this.#o;
    if (!runtime.capabilities.usage || runtime.usage === undefined) return undefined;
    const interval = this.#o.usageIntervalMs ?? AUTOSCALER_DEFAULTS.usageIntervalMs;
    if (!needed && now - tracked.lastUsageAt < interval) return undefined;
    const workloads = await runtime.list({ environment: d.environment, deployment: d.name });
    tracked.readySince = readySince(
      tracked.readySince,
      workloads.flatMap((w) => w.replicas),
      now,
    );
    const keys = workloads.map((w) => w.key);
    const usage = (await Promise.all(keys.map((k) => runtime.usage!(k)))).flat();
    if (now - tracked.lastUsageAt >= interval) {
      tracked.lastUsageAt = now;
      for (const u of usage)
        if (u.cpuCores > 0 || u.memoryBytes > 0)
          tracked.usage.push({ cpuCores: round3(u.cpuCores), memoryBytes: u.memoryBytes });
      if (tracked.usage.length > MAX_USAGE_SAMPLES) tracked.usage.splice(0, tracked.usage.length - MAX_USAGE_SAMPLES);
    }
    return usage;
  }

  /** Adds the current rate to the forecast's history; on a closed bucket refits the forecast. Returns whether a bucket closed. */
  #recordRate(
    scaling: ResolvedScaling,
    tracked: Tracked,
    now: number,
    traffic: DeploymentTraffic | undefined,
  ): boolean {
    const p = scaling.predictive;
    if (!p.enabled || traffic === undefined) return false;
    const maxBuckets = Math.max(2 * p.season, 240);
    if (tracked.history === undefined || tracked.history.bucketSeconds !== p.bucket)
      tracked.history = new RateHistory(p.bucket, maxBuckets, tracked.record?.history);
    if (!tracked.history.add(now, traffic.requestRate)) return false;
    const steps = Math.max(1, Math.ceil(p.horizon / p.bucket));
    const fitted = forecastSeries(tracked.history.values(), p.season, steps);
    if (fitted === undefined) {
      tracked.forecast = undefined;
      return true;
    }
    tracked.forecast = {
      time: new Date(now).toISOString(),
      horizonSeconds: p.horizon,
      requestRate: round3(fitted.value),
      method: fitted.method,
      error: {
        ...(fitted.error.mape === undefined ? {} : { mape: round3(fitted.error.mape) }),
        rmse: round3(fitted.error.rmse),
        samples: fitted.error.samples,
      },
    };
    return true;
  }

  /**
   * The forecast rate in the metric's units, through the current ratio of the metric to the rate
   * (Little's law for concurrency: in-flight = rate × latency). Undefined without a forecast or
   * with no traffic to take the ratio from (except for rps, where no ratio is needed).
   */
  #forecastInMetricUnits(
    scaling: ResolvedScaling,
    tracked: Tracked,
    traffic: DeploymentTraffic | undefined,
    stable: number | undefined,
  ): number | undefined {
    const forecast = tracked.forecast;
    if (!scaling.predictive.enabled || forecast === undefined) return undefined;
    let value: number | undefined;
    if (scaling.metric === 'rps') value = forecast.requestRate;
    else if (traffic !== undefined && traffic.requestRate > 0 && stable !== undefined)
      value = forecast.requestRate * (stable / traffic.requestRate);
    return value;
  }

  /** A fresh vertical recommendation when one is due, else undefined. */
  #recommend(d: Deployment, tracked: Tracked, now: number): VerticalRecommendationView | undefined {
    if (now - tracked.lastRecommendAt < (this.#o.recommendIntervalMs ?? AUTOSCALER_DEFAULTS.recommendIntervalMs))
      return undefined;
    const r = recommendResources(tracked.usage, {
      cpu: d.configuration.resources.cpu,
      memory: d.configuration.resources.memory,
    });
    if (r === undefined) return undefined;
    tracked.lastRecommendAt = now;
    return {
      time: new Date(now).toISOString(),
      cpu: r.cpu,
      memory: r.memory,
      memoryLimit: r.memoryLimit,
      change: r.change,
      basis: r.basis,
      samples: r.samples,
    };
  }

  /** Creates or updates the record (with the decision's event); on a conflict, re-reads and writes again once. */
  async #write(
    d: Deployment,
    previous: AutoscalerState | undefined,
    next: Omit<AutoscalerState, 'resourceVersion'>,
    decision: ScalingDecision | undefined,
    from: number,
    now: number,
  ): Promise<AutoscalerState> {
    const { store } = this.#o;
    const time = new Date(now).toISOString();
    const attempt = (base: AutoscalerState | undefined) =>
      store.transaction(async (tx) => {
        const written =
          base === undefined
            ? await tx.autoscalers.create(next)
            : await tx.autoscalers.update({ ...next, resourceVersion: base.resourceVersion });
        if (decision !== undefined)
          await tx.events.create(
            newEvent(d.id, time, {
              type: 'Normal',
              reason: eventReason(from, decision.desired),
              message: decision.reason.message,
            }),
          );
        return written;
      });
    try {
      return await attempt(previous);
    } catch (error) {
      if (
        !hasErrorCode(error, 'CONFLICT') &&
        !hasErrorCode(error, 'ALREADY_EXISTS') &&
        !hasErrorCode(error, 'NOT_FOUND')
      )
        throw error;
      const fresh = await unlessNotFound(store.autoscalers.get(d.id));
      return attempt(fresh);
    }
  }
}

/**
 * The last request time if it is this deployment's: the gateways count by name, so a request seen
 * before the deployment was created was for an earlier deployment of the same name.
 */
function ownRequestTime(d: Deployment, lastRequestAt: number | undefined): number | undefined {
  return lastRequestAt !== undefined && lastRequestAt >= Date.parse(d.metadata.created) ? lastRequestAt : undefined;
}

/** A deployment the autoscaler looks at: running (spec replicas above 0), not being deleted. Fixed-size ones only get resource advice. */
function isCandidate(d: Deployment): boolean {
  return d.configuration.replicas > 0 && deletionRequestedAt(d) === undefined;
}

function eventReason(from: number, to: number): string {
  if (to === 0) return 'ScaledToZero';
  if (from === 0) return 'ScaledFromZero';
  return to > from ? 'ScaledUp' : 'ScaledDown';
}

function decisionRecord(
  now: number,
  from: number,
  decision: ScalingDecision,
): NonNullable<AutoscalerState['lastDecision']> {
  const r = decision.reason;
  return {
    time: new Date(now).toISOString(),
    from,
    to: decision.desired,
    rule: r.rule,
    metric: r.metric,
    ...(r.value === undefined ? {} : { value: round3(r.value) }),
    target: r.target,
    ...(r.windowSeconds === undefined ? {} : { windowSeconds: r.windowSeconds }),
    message: r.message,
  };
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
