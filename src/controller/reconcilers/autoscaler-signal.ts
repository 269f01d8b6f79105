/**
 * What the autoscaler measures, per metric: `concurrency` and `rps` from the gateways' counters
 * over the stable and panic windows (the built-in metrics source; requests held at a gateway count
 * as in-flight demand); `cpu` and `memory` from the runtime's per-replica usage, as percent of the
 * request, summed over replicas (for `cpu`, only replicas ready for `cpuStartupGraceMs`: a start-up
 * is not load, see `core/autoscaling/cpu-readiness.ts`); `custom` from a PromQL query; `queue` from
 * the broker, read now (a depth is a level: no window), also while at zero, where the first
 * message wakes the deployment (workers have no gateway to hold a request). Also the
 * replica usage sampling that feeds both the cpu/memory metrics and the vertical recommendation.
 */
import { parseCpu, parseMemory } from '../../core/quantities.js';
import type { Deployment } from '../../core/resources.js';
import type { ResolvedScaling } from '../../core/autoscaling/scaling-spec.js';
import { countedCpuUsage, readySince } from '../../core/autoscaling/cpu-readiness.js';
import type { DeploymentTraffic, MetricsSource } from '../../metrics/metrics-source.js';
import type { QueueDepthSource } from '../../metrics/queue-depth/queue-depths.js';
import type { ReplicaUsage, Runtime } from '../../runtime/runtime.js';
import { MAX_USAGE_SAMPLES, round3, type Tracked } from './autoscaler-tracked.js';

/** The metric's value over both windows, or why it cannot be measured. */
export interface Signal {
  stable?: number;
  panic?: number;
  problem?: string;
  /** The metric could not be read at all (a queue's broker is down): keep the size, neither wake nor idle. */
  unmeasured?: boolean;
}

/** What {@link measureSignal} reads besides the deployment. */
export interface SignalInputs {
  scaling: ResolvedScaling;
  tracked: Tracked;
  now: number;
  stable: DeploymentTraffic | undefined;
  panic: DeploymentTraffic | undefined;
  usage: readonly ReplicaUsage[] | undefined;
  metrics: MetricsSource;
  /** Reads queue depths (metric queue); absent: the metric reports a problem. */
  queues: QueueDepthSource | undefined;
  cpuStartupGraceMs: number;
}

/** The metric summed over replicas over both windows, or why it cannot be measured. */
export async function measureSignal(d: Deployment, inputs: SignalInputs): Promise<Signal> {
  const { scaling, tracked, now, stable, panic, usage, metrics } = inputs;
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
        scaling.metric === 'cpu' ? countedCpuUsage(usage, tracked.readySince, now, inputs.cpuStartupGraceMs) : usage;
      const percent = counted.reduce(
        (sum, u) => sum + (100 * (scaling.metric === 'cpu' ? u.cpuCores : u.memoryBytes)) / request,
        0,
      );
      return windows(counted.length === 0 ? undefined : percent);
    }
    case 'custom': {
      const query = metrics.query?.bind(metrics);
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
    case 'queue': {
      const queue = scaling.queue;
      if (inputs.queues === undefined || queue === undefined)
        return { problem: 'metric queue needs the queue readers (wharf up passes them)', unmeasured: true };
      try {
        const depth = await inputs.queues.depth(queue);
        if (depth > 0) tracked.queueBusyAt = now;
        return { stable: depth };
      } catch (error) {
        return { problem: (error as Error).message, unmeasured: true };
      }
    }
  }
}

/**
 * Usage of every running replica of the deployment, sampled at most every `intervalMs` unless
 * `needed` now (a cpu or memory metric); each sample taken on the interval is kept for the
 * vertical recommendation. Undefined when the runtime reports no usage or none is due.
 */
export async function sampleUsage(
  runtime: Pick<Runtime, 'list' | 'usage' | 'capabilities'>,
  d: Deployment,
  tracked: Tracked,
  now: number,
  { needed, intervalMs }: { needed: boolean; intervalMs: number },
): Promise<ReplicaUsage[] | undefined> {
  if (!runtime.capabilities.usage || runtime.usage === undefined) return undefined;
  if (!needed && now - tracked.lastUsageAt < intervalMs) return undefined;
  const workloads = await runtime.list({ environment: d.environment, deployment: d.name });
  tracked.readySince = readySince(
    tracked.readySince,
    workloads.flatMap((w) => w.replicas),
    now,
  );
  const keys = workloads.map((w) => w.key);
  const usage = (await Promise.all(keys.map((k) => runtime.usage!(k)))).flat();
  if (now - tracked.lastUsageAt >= intervalMs) {
    tracked.lastUsageAt = now;
    for (const u of usage)
      if (u.cpuCores > 0 || u.memoryBytes > 0)
        tracked.usage.push({ cpuCores: round3(u.cpuCores), memoryBytes: u.memoryBytes });
    if (tracked.usage.length > MAX_USAGE_SAMPLES) tracked.usage.splice(0, tracked.usage.length - MAX_USAGE_SAMPLES);
  }
  return usage;
}
