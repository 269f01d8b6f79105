/**
 * The horizontal autoscaling decision: one pure call per tick (about every 500 ms) that says how
 * many replicas a deployment should have and why, in one readable sentence. The caller keeps the
 * returned state and passes it back on the next tick; nothing else is remembered.
 *
 * Rules, in the order they apply (`target` is the per-replica target of the metric):
 *
 * 1. **Activation** (`bounds.min` 0, `current` 0): requests held at the gateways, or a request seen
 *    after the deployment went to zero, scale to max(1, the demand) at once, without stabilization.
 *    With no such demand the deployment stays at zero (rule `idle`).
 * 2. **Idle** (`bounds.min` 0): no request for `idleTimeout` s (counted from the last request, or
 *    from `startedAt` if later) and none held → 0.
 * 3. **No data** (`stable` undefined) → keep `current` (rule `unchanged`). A metric that could not be
 *    read (`unmeasured`, e.g. a queue whose broker is down) keeps `current` before rules 1 and 2:
 *    unknown demand neither wakes a deployment nor lets it idle.
 *
 * For the `queue` metric, `stable` is the depth read now (a level, not averaged) and a "request"
 * is a read that found the queue non-empty: `lastRequestAt` is the last such read.
 * 4. **Stable**: `ceil(stable / target)`.
 * 5. **Panic**: panic mode starts when `ceil(panic / target)` ≥ `panicThreshold` × max(ready, 1)
 *    and is above `current`; it lasts until `stableWindow` s after the last tick where that held.
 *    In panic, desired = max(current, ceil(panic / target)): never down.
 * 6. **Forecast**: desired = max(desired, ceil(forecast / target)) — pre-scaling before a predicted
 *    rise. It never wakes a deployment at zero (requests do) and never blocks idling.
 * 7. With `bounds.min` 0 and not idle, at least 1 (scale to zero is rule 2's job alone).
 * 8. **Scale-down stabilization** (HPA's): going down, desired = the highest recommendation of the
 *    last `scaleDownDelay` s. A recommendation is what the metrics asked for (rules 4–7, clamped to
 *    that tick's bounds), not the number panic mode or stabilization held, so the window drains.
 *    The history is seeded with the size at start (see {@link initialState}), so a restarted
 *    autoscaler never scales down sooner than that.
 * 9. **Bounds**: clamp to `bounds` (rule `bounds` when that changed the number; the message names
 *    the schedule the bound came from).
 *
 * Divisions round up, ignoring float noise below 1e-9 (`ceil(x − 1e-9)`).
 *
 * @example
 *   let state = initialState(now, 1);
 *   const d = decide(scaling, boundsAt(scaling, new Date(now)), { now, current: 1, ready: 1, stable: 31, panic: 42.6, startedAt, held: 0, lastRequestAt: now }, state);
 *   state = d.state; // d.desired === 5, d.reason.rule === 'panic'
 */
import type { ScalingMetric } from '../resources.js';
import type { ResolvedScaling } from './scaling-spec.js';

/** What the autoscaler measured at one tick. Metric values are totals over all replicas. */
export interface ScalingObservation {
  /** Milliseconds since the epoch. */
  now: number;
  /** Replicas the autoscaler asked for last (the current size). */
  current: number;
  /** Ready replicas now. */
  ready: number;
  /** The metric summed over all replicas, averaged over the stable window; undefined = no data. */
  stable?: number;
  /** The same over the panic window. */
  panic?: number;
  /** Milliseconds of the last request seen (idle detection); undefined = none seen since `startedAt`. */
  lastRequestAt?: number;
  /** When the autoscaler started watching (idle counts from here at most). */
  startedAt: number;
  /** Requests held at gateways for this deployment now (demand while at zero). */
  held: number;
  /** Predicted metric total at now + horizon (same units as `stable`), if any. */
  forecast?: number;
  /** The metric could not be read this tick: keep the current size (see rule 3). */
  unmeasured?: boolean;
}

/** What {@link decide} remembers between ticks. Plain data: safe to log or store. */
export interface RecommenderState {
  /** Panic mode lasts until this time (ms). */
  panicUntil?: number;
  /** Recommendations (clamped to the bounds of their tick) of the last `scaleDownDelay` s, oldest first. */
  history: { time: number; desired: number }[];
}

/** Why a decision came out as it did. */
export interface ScalingReason {
  rule: 'stable' | 'panic' | 'idle' | 'activation' | 'forecast' | 'bounds' | 'unchanged';
  metric: ScalingMetric;
  /** The number the rule acted on: a metric total, the forecast, or (activation) the held requests. */
  value?: number;
  /** Per-replica target of the metric. */
  target: number;
  /** The averaging window of `value`, when it has one. */
  windowSeconds?: number;
  /** One sentence with the numbers, e.g. `in-flight requests 42.6 over the 60 s stable window / target 10 per replica = 5 replicas: 3 → 5 replicas`. */
  message: string;
}

/** The replicas to ask for, the state for the next tick, and why. */
export interface ScalingDecision {
  desired: number;
  state: RecommenderState;
  reason: ScalingReason;
}

/** How each metric is named in messages. */
const METRIC_NAMES: Readonly<Record<ScalingMetric, string>> = {
  concurrency: 'in-flight requests',
  rps: 'requests/s',
  cpu: 'CPU % of request',
  memory: 'memory % of request',
  custom: 'custom metric',
  queue: 'queued messages',
};

/** The state of an autoscaler that starts watching at `now` a deployment of `current` replicas. */
export function initialState(now: number, current: number): RecommenderState {
  return { history: [{ time: now, desired: current }] };
}

/** The decision for one tick; see the module comment for the rules. Does not change its arguments. */
export function decide(
  scaling: ResolvedScaling,
  bounds: { min: number; max: number; schedule?: string },
  obs: ScalingObservation,
  state: RecommenderState,
): ScalingDecision {
  const { metric, target } = scaling;
  const name = METRIC_NAMES[metric];
  // Stabilization looks at the last `scaleDownDelay` s only; the tick's own entry is appended.
  const since = obs.now - scaling.scaleDownDelay * 1000;
  const history = state.history.filter((h) => h.time > since);
  const queue = metric === 'queue';
  // `recommended` enters the history: the number before panic mode's hold and stabilization
  // (recording the held number would keep a maximum alive forever).
  const finish = (
    desired: number,
    recommended: number,
    reason: Rule,
    basis: string,
    panicUntil?: number,
  ): ScalingDecision => {
    const clamped = Math.min(Math.max(desired, bounds.min), bounds.max);
    let rule = reason.rule;
    let because = basis;
    if (clamped !== desired) {
      rule = 'bounds';
      const of = bounds.schedule === undefined ? '' : ` of schedule "${bounds.schedule}"`;
      because +=
        clamped > desired ? `, raised to the minimum ${bounds.min}${of}` : `, capped at the maximum ${bounds.max}${of}`;
    }
    const next: RecommenderState = {
      history: [...history, { time: obs.now, desired: Math.min(Math.max(recommended, bounds.min), bounds.max) }],
    };
    if (panicUntil !== undefined) next.panicUntil = panicUntil;
    return {
      desired: clamped,
      state: next,
      reason: { ...reason, rule, metric, target, message: `${because}: ${transition(obs.current, clamped)}` },
    };
  };
  if (obs.unmeasured === true) {
    const why = `${name} could not be measured`;
    return finish(obs.current, obs.current, { rule: 'unchanged' }, why, livePanic(state.panicUntil, obs.now));
  }
  if (bounds.min === 0 && obs.current === 0) {
    const wentToZero = zeroSince(state.history) ?? obs.startedAt;
    const requestSince = obs.lastRequestAt !== undefined && obs.lastRequestAt > wentToZero;
    if (obs.held === 0 && !requestSince) {
      const why = queue ? 'queue empty since scaling to zero' : 'no requests held or seen since scaling to zero';
      return finish(0, 0, { rule: 'idle' }, why);
    }
    const fromHeld = metric === 'concurrency' ? replicasFor(obs.held, target) : 0;
    const fromMetric = Math.max(replicasFor(obs.stable ?? 0, target), replicasFor(obs.panic ?? 0, target));
    const desired = Math.max(1, fromHeld, fromMetric);
    const demand =
      obs.held > 0
        ? `${count(obs.held, 'request')} held at the gateways while at zero`
        : queue
          ? `${count(obs.stable ?? 0, 'message')} queued after scaling to zero`
          : 'a request arrived after scaling to zero';
    const need = desired > 1 ? ` = ${count(desired, 'replica')} at target ${fmt(target)} per replica` : '';
    return finish(desired, desired, { rule: 'activation', value: obs.held }, `activation: ${demand}${need}`);
  }

  if (bounds.min === 0) {
    const idleSince = Math.max(obs.lastRequestAt ?? obs.startedAt, obs.startedAt);
    const idleMs = obs.now - idleSince;
    if (obs.held === 0 && idleMs >= scaling.idleTimeout * 1000) {
      return finish(
        0,
        0,
        { rule: 'idle' },
        `${queue ? 'queue empty' : 'no requests'} for ${Math.floor(idleMs / 1000)} s (idle timeout ${fmt(scaling.idleTimeout)} s)`,
      );
    }
  }

  if (obs.stable === undefined) {
    return finish(
      obs.current,
      obs.current,
      { rule: 'unchanged', windowSeconds: scaling.stableWindow },
      `no ${name} data over the ${fmt(scaling.stableWindow)} s stable window yet`,
      livePanic(state.panicUntil, obs.now),
    );
  }

  const stableDesired = replicasFor(obs.stable, target);
  const panicDesired = obs.panic === undefined ? undefined : replicasFor(obs.panic, target);
  const burst =
    panicDesired !== undefined &&
    panicDesired >= scaling.panicThreshold * Math.max(obs.ready, 1) &&
    panicDesired > obs.current;
  const panicUntil = burst ? obs.now + scaling.stableWindow * 1000 : livePanic(state.panicUntil, obs.now);

  // `recommended` is what the metrics ask for; `desired` adds panic mode's hold and stabilization.
  let recommended: number;
  let desired: number;
  let reason: Rule;
  let basis: string;
  if (panicUntil !== undefined) {
    const [value, window, wanted] =
      panicDesired === undefined
        ? [obs.stable, scaling.stableWindow, stableDesired]
        : [obs.panic as number, scaling.panicWindow, panicDesired];
    recommended = wanted;
    desired = Math.max(obs.current, wanted);
    reason = { rule: 'panic', value, windowSeconds: window };
    basis =
      `${measure(name, value, window, panicDesired === undefined ? 'stable' : 'panic', target, wanted)}, ` +
      (burst
        ? `at least ${fmt(scaling.panicThreshold)}× the ${count(obs.ready, 'ready replica')}: panic mode`
        : `panic mode until ${fmt(scaling.stableWindow)} s after the last burst, never scaling down`);
  } else {
    recommended = stableDesired;
    desired = stableDesired;
    reason = { rule: 'stable', value: obs.stable, windowSeconds: scaling.stableWindow };
    basis = measure(name, obs.stable, scaling.stableWindow, 'stable', target, stableDesired);
  }

  if (obs.forecast !== undefined) {
    const forecastDesired = replicasFor(obs.forecast, target);
    if (forecastDesired > desired) {
      reason = { rule: 'forecast', value: obs.forecast, windowSeconds: scaling.predictive.horizon };
      basis = `${name} forecast at ${fmt(obs.forecast)} in ${fmt(scaling.predictive.horizon)} s / target ${fmt(target)} per replica = ${count(forecastDesired, 'replica')}, above the ${desired} needed now`;
      desired = forecastDesired;
    }
    recommended = Math.max(recommended, forecastDesired);
  }

  if (bounds.min === 0 && desired < 1) {
    desired = 1;
    basis += `, kept at 1 until idle for ${fmt(scaling.idleTimeout)} s`;
  }
  if (bounds.min === 0) recommended = Math.max(recommended, 1);

  if (desired < obs.current) {
    const highest = Math.min(obs.current, Math.max(desired, ...history.map((h) => h.desired)));
    if (highest > desired) {
      basis += `, held at ${highest} (the highest recommendation of the last ${fmt(scaling.scaleDownDelay)} s scale-down delay)`;
      desired = highest;
    }
  }
  return finish(desired, recommended, reason, basis, panicUntil);
}

/** The part of a reason each rule fills in; `finish` adds the rest. */
type Rule = Omit<ScalingReason, 'metric' | 'target' | 'message'>;

/** Replicas that `total` needs at `target` each: `ceil(total / target)`, ignoring float noise. */
function replicasFor(total: number, target: number): number {
  return Math.max(0, Math.ceil(total / target - 1e-9));
}

/**
 * When the deployment went to zero, as far as the history tells: the first entry of its trailing
 * run of zeros (or its last entry, if that is not a zero: it went to zero after it). The history
 * always holds the previous tick, so a request after that tick is always seen as new; an older
 * one was already seen as new by an earlier tick.
 */
function zeroSince(history: readonly { time: number; desired: number }[]): number | undefined {
  let since = history.at(-1)?.time;
  for (let i = history.length - 1; i >= 0 && history[i]!.desired === 0; i--) since = history[i]!.time;
  return since;
}

function livePanic(panicUntil: number | undefined, now: number): number | undefined {
  return panicUntil !== undefined && now < panicUntil ? panicUntil : undefined;
}

function measure(
  name: string,
  value: number,
  windowSeconds: number,
  kind: 'stable' | 'panic',
  target: number,
  replicas: number,
): string {
  const over = name === METRIC_NAMES.queue ? 'now' : `over the ${fmt(windowSeconds)} s ${kind} window`;
  return `${name} ${fmt(value)} ${over} / target ${fmt(target)} per replica = ${count(replicas, 'replica')}`;
}

function transition(from: number, to: number): string {
  return from === to ? `stays at ${count(to, 'replica')}` : `${from} → ${count(to, 'replica')}`;
}

function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

/** Numbers for people: at most one decimal from 10 up, two below (42.6, 4.26, 0.05). */
function fmt(x: number): string {
  return String(Math.round(x * (Math.abs(x) >= 10 ? 10 : 100)) / (Math.abs(x) >= 10 ? 10 : 100));
}
