/**
 * The Autoscaler record the autoscaler writes per deployment, where the deployment reconciler reads
 * the size and status shows what was measured: building it (for an autoscaled deployment, or
 * resource advice only for a fixed-size one) and writing it, together with an event that states
 * the rule, the metric, its value, the target and the window of each change of size.
 */
import { hasErrorCode, unlessNotFound } from '../../core/errors.js';
import type { AutoscalerState, Deployment, ScalingForecast, VerticalRecommendationView } from '../../core/resources.js';
import type { ScalingDecision } from '../../core/autoscaling/decide.js';
import type { ScalingBounds } from '../../core/autoscaling/schedule.js';
import type { ResolvedScaling } from '../../core/autoscaling/scaling-spec.js';
import type { DeploymentTraffic } from '../../metrics/metrics-source.js';
import type { Store } from '../../store/store.js';
import { newEvent } from '../../services/deployment-events.js';
import type { Signal } from './autoscaler-signal.js';
import { round3, STORED_USAGE_SAMPLES, type Tracked } from './autoscaler-tracked.js';

/** A record as written (the store sets the version). */
export type AutoscalerRecord = Omit<AutoscalerState, 'resourceVersion'>;

/** What one evaluation of an autoscaled deployment found and decided. */
export interface Evaluation {
  now: number;
  scaling: ResolvedScaling;
  bounds: ScalingBounds;
  /** The size before the decision. */
  current: number;
  decision: ScalingDecision;
  signal: Signal;
  stableTraffic: DeploymentTraffic | undefined;
  held: number;
  lastRequestAt: number | undefined;
  forecastValue: number | undefined;
  recommendation: VerticalRecommendationView | undefined;
}

/** The record of an autoscaled deployment after `e`. */
export function scaledRecord(d: Deployment, tracked: Tracked, e: Evaluation): AutoscalerRecord {
  const { now, scaling, bounds, current, decision, signal } = e;
  const changed = decision.desired !== current;
  const forecast: ScalingForecast | undefined =
    tracked.forecast === undefined
      ? undefined
      : {
          ...tracked.forecast,
          desiredReplicas: e.forecastValue === undefined ? 0 : Math.ceil(e.forecastValue / scaling.target - 1e-9),
        };
  const history = tracked.history?.stored() ?? tracked.record?.history;
  const shownRecommendation = e.recommendation ?? tracked.record?.recommendation;
  return {
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
    ...(e.lastRequestAt === undefined ? {} : { lastRequestAt: new Date(e.lastRequestAt).toISOString() }),
    observed: {
      time: new Date(now).toISOString(),
      metric: scaling.metric,
      ...(signal.stable === undefined ? {} : { stable: round3(signal.stable) }),
      ...(signal.panic === undefined ? {} : { panic: round3(signal.panic) }),
      target: scaling.target,
      requestRate: round3(e.stableTraffic?.requestRate ?? 0),
      held: e.held,
    },
    ...(bounds.schedule === undefined ? {} : { schedule: { name: bounds.schedule, min: bounds.min, max: bounds.max } }),
    ...(forecast === undefined ? {} : { forecast }),
    ...(history === undefined ? {} : { history }),
    ...(shownRecommendation === undefined ? {} : { recommendation: shownRecommendation }),
    ...(tracked.usage.length === 0 ? {} : { usage: tracked.usage.slice(-STORED_USAGE_SAMPLES) }),
    ...(signal.problem === undefined ? {} : { problem: signal.problem }),
  };
}

/** The record of a fixed-size deployment: its spec size and the new `recommendation`, nothing about scaling. */
export function adviceRecord(
  d: Deployment,
  tracked: Tracked,
  recommendation: VerticalRecommendationView,
): AutoscalerRecord {
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
  return {
    ...kept,
    deployment: d.id,
    environment: d.environment,
    desiredReplicas: d.configuration.replicas,
    recommendation,
    usage: tracked.usage.slice(-STORED_USAGE_SAMPLES),
  };
}

/**
 * Creates or updates the record (with the decision's event when the size changed from `from`);
 * on a conflict, re-reads and writes again once.
 */
export async function writeRecord(
  store: Store,
  d: Deployment,
  previous: AutoscalerState | undefined,
  next: AutoscalerRecord,
  change: { decision: ScalingDecision; from: number } | undefined,
  now: number,
): Promise<AutoscalerState> {
  const time = new Date(now).toISOString();
  const attempt = (base: AutoscalerState | undefined) =>
    store.transaction(async (tx) => {
      const written =
        base === undefined
          ? await tx.autoscalers.create(next)
          : await tx.autoscalers.update({ ...next, resourceVersion: base.resourceVersion });
      if (change !== undefined)
        await tx.events.create(
          newEvent(d.id, time, {
            type: 'Normal',
            reason: eventReason(change.from, change.decision.desired),
            message: change.decision.reason.message,
          }),
        );
      return written;
    });
  try {
    return await attempt(previous);
  } catch (error) {
    if (!hasErrorCode(error, 'CONFLICT') && !hasErrorCode(error, 'ALREADY_EXISTS') && !hasErrorCode(error, 'NOT_FOUND'))
      throw error;
    const fresh = await unlessNotFound(store.autoscalers.get(d.id));
    return attempt(fresh);
  }
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
