/**
 * The horizontal (and vertical-advice) autoscaler as a reconciler of deployment ids, driven by the
 * controller loop (`autoscaler-controller.ts`): each reconcile measures one autoscaled deployment
 * (`autoscaler-signal.ts`), asks the pure decision function (`core/autoscaling/decide.ts`) for a
 * size, stores the decision in the deployment's Autoscaler record (`autoscaler-record.ts`), where
 * the deployment reconciler reads it, and returns `{ requeueAfterMs: intervalMs }` for its next
 * evaluation. Scaling never makes a revision: the spec holds the bounds, the record holds the size.
 *
 * A deployment is evaluated at most once per `intervalMs`: a reconcile woken sooner (its
 * Deployment changed, a resync) only requeues for the rest of the interval, so status writes during
 * a rollout do not add samples. A Holt-Winters forecast of the request rate (when
 * `predictive.enabled`, `autoscaler-forecast.ts`) can raise the size before an expected rise.
 *
 * The record is also refreshed every `refreshIntervalMs` so status shows what was measured, the
 * forecast with its error, and the CPU / memory suggestions. Restart: the record keeps the size,
 * so a new autoscaler continues from it (see `autoscaler-tracked.ts`). Requests held at a gateway
 * (a deployment at zero) are evaluated at once through {@link AutoscalerReconciler.activate},
 * without waiting for the next evaluation. A worker scaled on its queue (`metric: queue`) has no
 * gateway: its evaluations read the queue also while at zero, and the first message wakes it.
 */
import { deletionRequestedAt, deploymentId } from '../../core/deployment-identity.js';
import { unlessNotFound } from '../../core/errors.js';
import type { Deployment } from '../../core/resources.js';
import { boundsAt } from '../../core/autoscaling/schedule.js';
import { decide, type ScalingObservation } from '../../core/autoscaling/decide.js';
import { autoscaled, initialSize, resolveScaling } from '../../core/autoscaling/scaling-spec.js';
import { CPU_STARTUP_GRACE_MS } from '../../core/autoscaling/cpu-readiness.js';
import type { MetricsSource } from '../../metrics/metrics-source.js';
import type { QueueDepthSource } from '../../metrics/queue-depth/queue-depths.js';
import { KeyedSerial } from '../../runtime/keyed-serial.js';
import type { Runtime } from '../../runtime/runtime.js';
import type { Store } from '../../store/store.js';
import type { ReconcileContext, ReconcileResult, Reconciler } from '../reconciler.js';
import { listAll } from '../../services/store-pages.js';
import { forecastInMetricUnits, recommend, recordRate } from './autoscaler-forecast.js';
import { adviceRecord, scaledRecord, writeRecord } from './autoscaler-record.js';
import { measureSignal, sampleUsage } from './autoscaler-signal.js';
import { newTracked, type Tracked } from './autoscaler-tracked.js';

/** Settings of {@link AutoscalerReconciler}; every default is in {@link AUTOSCALER_DEFAULTS}. */
export interface AutoscalerOptions {
  store: Store;
  /** Must answer `deployment()` for the concurrency and rps metrics, `query()` for custom ones. */
  metrics: MetricsSource;
  runtime: Pick<Runtime, 'list' | 'usage' | 'capabilities'>;
  /** Reads the depth of queues for metric queue (the caller owns and closes it). */
  queues?: QueueDepthSource;
  /** How often each autoscaled deployment is evaluated: the `requeueAfterMs` of its reconcile (was the tick). */
  intervalMs?: number;
  /** The record is rewritten at least this often (status freshness), besides every size change. */
  refreshIntervalMs?: number;
  /** How often replica usage is sampled for vertical recommendations. */
  usageIntervalMs?: number;
  /** How often the vertical recommendation is recomputed. */
  recommendIntervalMs?: number;
  /** A replica's CPU counts for the cpu metric once it has been ready this long (see `core/autoscaling/cpu-readiness.ts`). */
  cpuStartupGraceMs?: number;
  now?: () => number;
  /** A deployment's failed evaluation (`undefined`: the pass or loop itself failed); also the loop's `onError`. */
  onError?: (deployment: string | undefined, error: unknown) => void;
}

/** Defaults of {@link AutoscalerOptions}. */
export const AUTOSCALER_DEFAULTS = {
  intervalMs: 500,
  refreshIntervalMs: 15_000,
  usageIntervalMs: 5_000,
  recommendIntervalMs: 60_000,
  cpuStartupGraceMs: CPU_STARTUP_GRACE_MS,
} as const;

/** See the module comment. */
export class AutoscalerReconciler implements Reconciler {
  readonly #o: AutoscalerOptions;
  readonly #tracked = new Map<string, Tracked>();
  /** Activations run outside the loop: one evaluation of a deployment at a time. */
  readonly #serial = new KeyedSerial();

  constructor(options: AutoscalerOptions) {
    this.#o = options;
  }

  /** The evaluation interval (the requeue delay of an autoscaled deployment). */
  get intervalMs(): number {
    return this.#o.intervalMs ?? AUTOSCALER_DEFAULTS.intervalMs;
  }

  /**
   * Evaluates the deployment `key` if its interval has passed; forgets it when it is gone, not a
   * candidate, or in a Kubernetes environment (which gets an HPA from the runtime: two autoscalers
   * would fight).
   */
  async reconcile(key: string, _context?: ReconcileContext): Promise<ReconcileResult> {
    const d = await unlessNotFound(this.#o.store.deployments.get(key));
    if (d === undefined || !isCandidate(d) || (await this.#onKubernetes(d))) {
      this.#tracked.delete(key);
      return {};
    }
    const sinceLast = this.#now() - (this.#tracked.get(key)?.lastEvaluatedAt ?? Number.NEGATIVE_INFINITY);
    if (sinceLast < this.intervalMs) return { requeueAfterMs: this.intervalMs - sinceLast };
    await this.#serial.run(key, () => this.#evaluate(d));
    return { requeueAfterMs: this.intervalMs };
  }

  /**
   * One pass over every deployment (and every one still remembered) now, each as its reconcile
   * would do; a deployment's failure goes to `onError` and does not stop the pass. For tests and
   * tools that drive the autoscaler step by step on their own clock.
   */
  async reconcileAll(): Promise<void> {
    const ids = new Set([...(await listAll(this.#o.store.deployments)).map((d) => d.id), ...this.keys()]);
    for (const id of ids) await this.reconcile(id).catch((e: unknown) => this.#o.onError?.(id, e));
  }

  /** Deployment ids with autoscaling memory (the loop lists them too, so a missed deletion still frees it). */
  keys(): string[] {
    return [...this.#tracked.keys()];
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

  /** Resolves once evaluations under way (activations included) have ended. */
  async idle(): Promise<void> {
    await this.#serial.idle();
  }

  #now(): number {
    return this.#o.now?.() ?? Date.now();
  }

  async #onKubernetes(d: Deployment): Promise<boolean> {
    return (await unlessNotFound(this.#o.store.environments.get(d.environment)))?.runtime === 'kubernetes';
  }

  async #track(d: Deployment, now: number): Promise<Tracked> {
    const existing = this.#tracked.get(d.id);
    if (existing !== undefined && existing.created === d.metadata.created) return existing;
    const tracked = newTracked(d, await unlessNotFound(this.#o.store.autoscalers.get(d.id)), now);
    this.#tracked.set(d.id, tracked);
    return tracked;
  }

  async #evaluate(d: Deployment): Promise<void> {
    const now = this.#now();
    const tracked = await this.#track(d, now);
    tracked.lastEvaluatedAt = now;
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
    const signal = await measureSignal(d, {
      scaling,
      tracked,
      now,
      stable: stableTraffic,
      panic: panicTraffic,
      usage,
      metrics: this.#o.metrics,
      queues: this.#o.queues,
      cpuStartupGraceMs: this.#o.cpuStartupGraceMs ?? AUTOSCALER_DEFAULTS.cpuStartupGraceMs,
    });
    const held = (panicTraffic?.held ?? 0) + (tracked.demand ? 1 : 0);
    const lastRequestAt = latest(ownRequestTime(d, stableTraffic?.lastRequestAt), tracked.queueBusyAt);
    tracked.demand = false;

    const bucketClosed = recordRate(scaling, tracked, now, panicTraffic);
    const forecastValue = forecastInMetricUnits(scaling, tracked, stableTraffic, signal.stable);

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
      ...(signal.unmeasured === true ? { unmeasured: true } : {}),
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

    const next = scaledRecord(d, tracked, {
      now,
      scaling,
      bounds,
      current,
      decision,
      signal,
      stableTraffic,
      held,
      lastRequestAt,
      forecastValue,
      recommendation,
    });
    const change = changed ? { decision, from: current } : undefined;
    tracked.record = await writeRecord(this.#o.store, d, tracked.record, next, change, now);
    tracked.lastWriteAt = now;
  }

  /** A fixed-size deployment: usage samples and CPU / memory recommendations only; the size stays the spec's. */
  async #adviseOnly(d: Deployment, tracked: Tracked, now: number): Promise<void> {
    await this.#usage(d, tracked, now, false);
    const recommendation = this.#recommend(d, tracked, now);
    if (recommendation === undefined) return;
    const next = adviceRecord(d, tracked, recommendation);
    tracked.record = await writeRecord(this.#o.store, d, tracked.record, next, undefined, now);
    tracked.lastWriteAt = now;
  }

  #usage(d: Deployment, tracked: Tracked, now: number, needed: boolean) {
    const intervalMs = this.#o.usageIntervalMs ?? AUTOSCALER_DEFAULTS.usageIntervalMs;
    return sampleUsage(this.#o.runtime, d, tracked, now, { needed, intervalMs });
  }

  #recommend(d: Deployment, tracked: Tracked, now: number) {
    return recommend(d, tracked, now, this.#o.recommendIntervalMs ?? AUTOSCALER_DEFAULTS.recommendIntervalMs);
  }
}

/**
 * The last request time if it is this deployment's: the gateways count by name, so a request seen
 * before the deployment was created was for an earlier deployment of the same name.
 */
function ownRequestTime(d: Deployment, lastRequestAt: number | undefined): number | undefined {
  return lastRequestAt !== undefined && lastRequestAt >= Date.parse(d.metadata.created) ? lastRequestAt : undefined;
}

function latest(a: number | undefined, b: number | undefined): number | undefined {
  return a === undefined ? b : b === undefined ? a : Math.max(a, b);
}

/** A deployment the autoscaler looks at: running (spec replicas above 0), not being deleted. Fixed-size ones only get resource advice. */
function isCandidate(d: Deployment): boolean {
  return d.configuration.replicas > 0 && deletionRequestedAt(d) === undefined;
}
