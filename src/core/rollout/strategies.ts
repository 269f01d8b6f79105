/**
 * One engine step per strategy, once a canary (the new workload) and a stable both exist. Each
 * function sets the canary's replicas, the traffic split, the phase and a message, and promotes or
 * aborts through the {@link Draft}. Pure.
 */
import { durationSeconds, replicaAmount, STRATEGY_DEFAULTS, type StrategySpec } from '../strategy.js';
import { type Draft, readyOf, workloadOf } from './draft.js';
import type { RolloutObservations } from './rollout-types.js';
import { gate } from './analysis-gate.js';

/** Runs the strategy's logic for one step. */
export function stepStrategy(d: Draft, strategy: StrategySpec, o: RolloutObservations): void {
  switch (strategy.type) {
    case 'recreate':
      return recreate(d, o);
    case 'rolling':
      return rolling(d, strategy, o);
    case 'blue-green':
      return blueGreen(d, strategy, o);
    case 'canary':
      return canary(d, strategy, o);
    case 'shadow':
      return shadow(d, strategy, o);
    case 'ab':
      return ab(d, strategy, o);
  }
}

/** Stop the old at once, start the new: downtime accepted by choice. */
function recreate(d: Draft, o: RolloutObservations): void {
  const canary = d.canary!;
  d.retire(d.stable!, 0);
  d.keep(canary, o.replicas);
  d.traffic = { targets: [{ revision: canary, weight: 100 }] };
  const ready = readyOf(o, canary);
  if (ready >= o.replicas) return d.promoteFully(0);
  d.phase = 'Progressing';
  d.message = `recreating: revision ${o.revision} ${ready}/${o.replicas} replicas ready (the old revision was stopped first)`;
}

/**
 * maxSurge / maxUnavailable, as Kubernetes' Deployment does it: the new workload grows while the
 * total stays within replicas + surge; the old shrinks only as far as ready replicas allow
 * (ready ≥ replicas − unavailable). Traffic is split by replica count.
 */
function rolling(d: Draft, strategy: StrategySpec, o: RolloutObservations): void {
  const stable = d.stable!;
  const canary = d.canary!;
  const options = strategy.rolling ?? {};
  const surge = replicaAmount(options.maxSurge ?? STRATEGY_DEFAULTS.maxSurge, o.replicas, 'up');
  const unavailable = replicaAmount(options.maxUnavailable ?? STRATEGY_DEFAULTS.maxUnavailable, o.replicas, 'down');
  const old = workloadOf(o, stable);
  const oldDesired = old?.desiredReplicas ?? 0;
  const newDesired = workloadOf(o, canary)?.desiredReplicas ?? 0;
  const newReady = readyOf(o, canary);
  // The old shrinks as far as ready replicas allow; the new grows into the room that leaves.
  const minAvailable = Math.max(0, o.replicas - unavailable);
  const oldTarget = Math.min(oldDesired, Math.max(0, minAvailable - newReady));
  const newTarget = Math.min(o.replicas, Math.max(newDesired, o.replicas + surge - oldTarget));
  if (newReady >= o.replicas && oldTarget === 0) {
    d.keep(canary, o.replicas);
    return d.promoteFully(o.drainMs / 1000);
  }
  d.keep(canary, newTarget);
  d.keep(stable, oldTarget);
  d.traffic = {
    targets: [
      { revision: stable, weight: Math.min(100, oldTarget) },
      { revision: canary, weight: Math.min(100, newTarget) },
    ],
  };
  d.phase = 'Progressing';
  d.message = `rolling update to revision ${o.revision}: new ${newReady}/${o.replicas} ready, old ${readyOf(o, stable)} ready (maxSurge ${surge}, maxUnavailable ${unavailable})`;
}

/** The new revision runs in full beside the active one, on the preview endpoint, until promoted. */
function blueGreen(d: Draft, strategy: StrategySpec, o: RolloutObservations): void {
  const stable = d.stable!;
  const canary = d.canary!;
  const options = strategy.blueGreen ?? {};
  d.keep(stable, o.replicas);
  d.keep(canary, o.replicas);
  d.traffic = {
    targets: [
      { revision: stable, weight: 100 },
      { revision: canary, weight: 0 },
    ],
    preview: canary,
  };
  const ready = readyOf(o, canary);
  if (ready < o.replicas) {
    d.phase = 'Progressing';
    d.message = `blue-green: preview revision ${o.revision} ${ready}/${o.replicas} replicas ready; revision ${stable} is active`;
    return;
  }
  if (d.promote !== undefined) return d.promoteFully(d.scaleDownDelaySeconds());
  if (options.analysis !== undefined) {
    const verdict = gate(d, 'analysis', options.analysis, 0);
    if (verdict === 'pass') return d.promoteFully(d.scaleDownDelaySeconds());
    if (verdict === 'wait') {
      d.phase = 'Progressing';
      d.message = `blue-green: pre-promotion analysis of the preview is running (${d.analysis?.message ?? 'starting'})`;
      return;
    }
    return; // 'fail' has aborted, 'hold' has paused
  }
  if (options.autoPromote === true) return d.promoteFully(d.scaleDownDelaySeconds());
  d.phase = 'Paused';
  d.message = `blue-green: preview revision ${o.revision} is ready on the preview endpoint; promote to switch (revision ${stable} stays active until then)`;
}

/** Ordered steps: setWeight, pause, analysis; a background analysis guards every step. */
function canary(d: Draft, strategy: StrategySpec, o: RolloutObservations): void {
  const stable = d.stable!;
  const next = d.canary!;
  const steps = strategy.canary?.steps ?? [];
  if (d.promote === 'full') d.stepIndex = steps.length;
  const ready = readyOf(o, next);
  let replicas = Math.max(workloadOf(o, next)?.desiredReplicas ?? 0, canaryReplicasFor(o.replicas, d.weight));
  d.phase = 'Progressing';

  const background = strategy.canary?.analysis;
  const guardVerdict =
    background !== undefined && d.weight > 0 ? gate(d, 'backgroundAnalysis', background, -1) : 'pass';
  if (guardVerdict === 'fail') return;

  for (let guard = 0; guardVerdict !== 'hold' && guard <= steps.length; guard++) {
    if (d.stepIndex >= steps.length) {
      replicas = o.replicas;
      if (ready >= o.replicas) {
        d.keep(next, o.replicas);
        return d.promoteFully(d.scaleDownDelaySeconds());
      }
      d.message = `canary: all steps done; scaling revision ${o.revision} to ${o.replicas} replicas (${ready} ready) before taking all traffic`;
      break;
    }
    const s = steps[d.stepIndex]!;
    const label = `step ${d.stepIndex + 1}/${steps.length}`;
    if ('setWeight' in s) {
      const needed = canaryReplicasFor(o.replicas, s.setWeight);
      replicas = Math.max(replicas, needed);
      if (s.setWeight > 0 && ready < needed) {
        d.message = `canary ${label}: waiting for ${needed} ready replica(s) of revision ${o.revision} (${ready} ready) before setting weight ${s.setWeight}%`;
        break;
      }
      if (d.weight !== s.setWeight)
        d.event('Normal', 'WeightChanged', `canary ${label}: ${s.setWeight}% of traffic to revision ${o.revision}`);
      d.weight = s.setWeight;
      advance(d);
      continue;
    }
    if ('pause' in s) {
      if (d.promote === 'step') {
        d.promote = undefined;
        advance(d);
        continue;
      }
      if (s.pause.duration === undefined) {
        d.phase = 'Paused';
        d.message = `canary ${label}: paused at ${d.weight}% until promoted`;
        break;
      }
      const started = Date.parse(d.stepStartedAt ?? d.nowIso);
      const endsAt = started + durationSeconds(s.pause.duration) * 1000;
      if (o.now >= endsAt) {
        advance(d);
        continue;
      }
      d.wake(endsAt);
      d.message = `canary ${label}: at ${d.weight}%, pausing ${Math.ceil((endsAt - o.now) / 1000)} s more`;
      break;
    }
    if (d.promote === 'step') {
      d.promote = undefined;
      d.analysis = undefined;
      advance(d);
      continue;
    }
    const verdict = gate(d, 'analysis', s.analysis, d.stepIndex);
    if (verdict === 'pass') {
      d.analysis = undefined;
      advance(d);
      continue;
    }
    if (verdict === 'wait')
      d.message = `canary ${label}: at ${d.weight}%, analysis ${s.analysis.template} running (${d.analysis?.message ?? 'starting'})`;
    break;
  }
  if ((d.phase as string) === 'Aborted') return;
  d.keep(stable, o.replicas);
  d.keep(next, replicas);
  d.traffic = {
    targets: [
      { revision: stable, weight: 100 - d.weight },
      { revision: next, weight: d.weight },
    ],
  };
}

function advance(d: Draft): void {
  d.stepIndex++;
  d.stepStartedAt = d.nowIso;
}

/** Copies of live traffic go to the new revision; its answers are compared, never returned. */
function shadow(d: Draft, strategy: StrategySpec, o: RolloutObservations): void {
  const stable = d.stable!;
  const next = d.canary!;
  const options = strategy.shadow ?? {};
  d.keep(stable, o.replicas);
  d.keep(next, o.replicas);
  const percent = options.percent ?? STRATEGY_DEFAULTS.shadowPercent;
  d.traffic = {
    targets: [
      { revision: stable, weight: 100 },
      { revision: next, weight: 0 },
    ],
    mirror: { revision: next, percent, tolerance: options.tolerance ?? STRATEGY_DEFAULTS.shadowTolerance },
  };
  d.shadow = o.shadow;
  const s = o.shadow;
  const enough = s !== undefined && s.compared >= (options.minCompared ?? STRATEGY_DEFAULTS.shadowMinCompared);
  if (
    enough &&
    options.minAgreementRate !== undefined &&
    s.agreementRate !== undefined &&
    s.agreementRate < options.minAgreementRate
  ) {
    return d.abort(
      `shadow agreement ${fmt(s.agreementRate)} is below the minimum ${options.minAgreementRate} over ${s.compared} compared requests`,
      true,
    );
  }
  if (
    enough &&
    options.maxErrorRateDelta !== undefined &&
    s.errorRateDelta !== undefined &&
    s.errorRateDelta > options.maxErrorRateDelta
  ) {
    return d.abort(
      `shadow error rate is ${fmt(s.errorRateDelta)} above the stable revision's (maximum ${options.maxErrorRateDelta})`,
      true,
    );
  }
  if (d.promote !== undefined) return d.promoteFully(d.scaleDownDelaySeconds());
  const ready = readyOf(o, next);
  d.phase = ready >= 1 ? 'Paused' : 'Progressing';
  const figures =
    s === undefined || s.compared === 0
      ? 'no comparisons yet'
      : `agreement ${fmt(s.agreementRate)} over ${s.compared}, mean abs diff ${fmt(s.meanAbsoluteDifference)}, latency ${signed(s.latencyDeltaSeconds, 's')}, errors ${signed(s.errorRateDelta, '')}`;
  d.message = `shadow: ${percent}% of requests mirrored to revision ${o.revision} (${ready}/${o.replicas} ready); ${figures}; promote to switch`;
}

/** Stable (A) and new (B) split by weight or a header/cookie match, sticky per user, until promoted. */
function ab(d: Draft, strategy: StrategySpec, o: RolloutObservations): void {
  const stable = d.stable!;
  const next = d.canary!;
  const options = strategy.ab ?? {};
  d.keep(stable, o.replicas);
  d.keep(next, o.replicas);
  const weight = options.weight ?? STRATEGY_DEFAULTS.abWeight;
  const match = options.match;
  d.traffic = {
    targets: [
      { revision: stable, weight: 100 - weight },
      { revision: next, weight },
    ],
    ...(match === undefined
      ? {}
      : {
          matches: [
            match.header !== undefined
              ? { header: { name: match.header, value: match.value }, revision: next }
              : { cookie: { name: match.cookie!, value: match.value }, revision: next },
          ],
        }),
    ...(options.sticky === undefined ? {} : { sticky: { ...options.sticky } }),
  };
  d.weight = weight;
  if (d.promote !== undefined) return d.promoteFully(d.scaleDownDelaySeconds());
  const ready = readyOf(o, next);
  d.phase = ready >= o.replicas ? 'Paused' : 'Progressing';
  d.message = `A/B test: variant B (revision ${o.revision}, ${ready}/${o.replicas} ready) gets ${weight}%${match ? ` and requests with ${match.header ? `header ${match.header}` : `cookie ${match.cookie}`}=${match.value}` : ''}; promote B or abort to keep A`;
}

function canaryReplicasFor(replicas: number, weight: number): number {
  return Math.max(1, Math.min(replicas, Math.ceil((replicas * weight) / 100)));
}

function fmt(n: number | undefined): string {
  return n === undefined ? '-' : String(Math.round(n * 10_000) / 10_000);
}

function signed(n: number | undefined, unit: string): string {
  return n === undefined ? '-' : `${n >= 0 ? '+' : ''}${fmt(n)}${unit}`;
}
