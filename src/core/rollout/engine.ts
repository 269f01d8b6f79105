/**
 * The rollout engine: one pure function, `step(strategy, status, observations) → { status, actions }`.
 * No I/O and no clock (observations carry `now`), so every transition is a row in a table test and a
 * control plane that restarts mid-rollout resumes from the stored status.
 *
 * Vocabulary: `stable` is the workload revision that serves when nothing is rolling out; `canary` is
 * the workload revision being brought in (for every strategy, not only canary). Revisions are
 * workload revisions: a rollback to a revision whose replicas still run reuses them.
 *
 * Order of one step: take the stored status (or infer one) → reset it when the deployment revision
 * changed → handle user requests (abort, retry, promote) → abort on a crash-looping canary → run the
 * strategy → list the workloads to keep (stable, canary, retiring ones until their time) → traffic.
 *
 * The working copy a step edits is in `engine-draft.ts`; the per-strategy steps in `strategies.ts`.
 */
import type { StrategySpec } from '../strategy.js';
import type {
  AnalysisRunView,
  RolloutActions,
  RolloutObservations,
  RolloutStatus,
  RolloutStep,
} from './rollout-types.js';
import { readyOf, workloadOf } from './draft.js';
import { type EngineDraft, newDraft } from './engine-draft.js';
import { stepStrategy } from './strategies.js';

/** See the module comment. */
export function step(strategy: StrategySpec, previous: RolloutStatus | undefined, o: RolloutObservations): RolloutStep {
  const d = start(strategy, previous, o);
  handleRequests(d, o);
  const canaryObs = d.canary === undefined ? undefined : workloadOf(o, d.canary);
  // A crash-looping canary aborts a guarded rollout; a rolling update stalls instead (its new
  // replicas take no traffic until ready) and goes on if the crashes stop, as Kubernetes does.
  const guarded = strategy.type !== 'rolling' && strategy.type !== 'recreate';
  if (
    guarded &&
    d.canary !== undefined &&
    d.phase !== 'Aborted' &&
    d.stable !== undefined &&
    canaryObs?.crashLoop !== undefined
  ) {
    d.abort(`revision ${d.canary} is crash-looping: ${canaryObs.crashLoop}`, true);
  }
  if (d.canary !== undefined && d.phase !== 'Aborted') {
    if (d.stable === undefined) initial(d, o);
    else if (o.rollback) switchWhenReady(d, o);
    else stepStrategy(d, strategy, o);
  }
  if (d.canary === undefined || d.phase === 'Aborted') steady(d, o);
  return finish(d, o);
}

/** The stored status carried forward, or one inferred from what runs (first step, or old data). */
function start(strategy: StrategySpec, previous: RolloutStatus | undefined, o: RolloutObservations): EngineDraft {
  const stable = previous === undefined ? inferStable(o) : previous.stable;
  const d = newDraft(
    strategy,
    o,
    previous ?? {
      revision: 0,
      stable,
      strategy: strategy.type,
      phase: 'Healthy',
      stepIndex: 0,
      weight: 0,
      retiring: [],
      handledRequest: 0,
      traffic: { targets: [] },
      message: '',
    },
  );
  d.strategy = strategy.type;
  if (d.revision !== o.revision) {
    d.revision = o.revision;
    // A workload that comes back (a rollback to a warm revision) is no longer retiring.
    d.retiring = d.retiring.filter((r) => r.revision !== o.workloadRevision);
    if (o.workloadRevision === d.stable) {
      if (d.canary !== undefined && d.canary !== d.stable) {
        d.retire(d.canary, o.drainMs);
        d.event(
          'Normal',
          'RolloutAbandoned',
          `revision ${o.revision} runs the stable revision ${d.stable}; revision ${d.canary} leaves at once`,
        );
      }
      d.canary = undefined;
      d.resetProgress('Healthy');
    } else if (d.canary !== o.workloadRevision || d.phase === 'Aborted') {
      if (d.canary !== undefined && d.canary !== d.stable && d.canary !== o.workloadRevision)
        d.retire(d.canary, o.drainMs);
      d.canary = o.workloadRevision;
      d.resetProgress('Progressing');
      // A first deploy has nothing to roll out from: its Deploying/Running events tell the story.
      if (d.stable !== undefined)
        d.event(
          'Normal',
          'RolloutStarted',
          `${o.rollback ? 'rollback' : `${strategy.type} rollout`} of revision ${o.revision} (stable: ${d.stable})`,
        );
    }
  } else if (d.stable === undefined && d.canary === undefined && o.replicas > 0) {
    // Nothing runs and nothing is stable (stopped or scaled to zero before the first rollout
    // completed): start the current revision again as a first deploy.
    d.canary = o.workloadRevision;
    d.resetProgress('Progressing');
  }
  return d;
}

/** With no stored status: the newest workload that serves (the current one when it is complete). */
function inferStable(o: RolloutObservations): number | undefined {
  const current = workloadOf(o, o.workloadRevision);
  if (current !== undefined && current.readyReplicas >= Math.max(1, o.replicas)) return o.workloadRevision;
  const newest = (ok: (w: (typeof o.workloads)[number]) => boolean) =>
    [...o.workloads].filter(ok).sort((a, b) => b.revision - a.revision)[0]?.revision;
  return (
    newest((w) => w.desiredReplicas > 0 && w.readyReplicas >= w.desiredReplicas) ?? newest((w) => w.readyReplicas > 0)
  );
}

function handleRequests(d: EngineDraft, o: RolloutObservations): void {
  for (const r of o.requests) {
    if (r.id <= d.handledRequest) continue;
    d.handledRequest = r.id;
    if (r.revision !== o.revision) continue;
    if (r.action === 'abort') {
      if (d.canary !== undefined && d.phase !== 'Aborted') d.abort(`aborted by ${r.by}`, false);
    } else if (r.action === 'retry') {
      if (d.phase === 'Aborted') {
        d.retiring = d.retiring.filter((w) => w.revision !== d.canary);
        d.resetProgress('Progressing');
        d.abortReason = undefined;
        d.event('Normal', 'RolloutRetried', `rollout of revision ${o.revision} restarted by ${r.by}`);
      }
    } else if (d.canary !== undefined && d.phase !== 'Aborted') {
      d.promote = r.action === 'promote-full' ? 'full' : 'step';
      d.event(
        'Normal',
        'PromoteRequested',
        `${r.action === 'promote-full' ? 'full promotion' : 'promotion'} requested by ${r.by}`,
      );
      // One promote per step, so each request moves the rollout once: the next waits for the next step.
      return;
    }
  }
}

/** Nothing to compare against: bring the first revision up and make it stable once complete. */
function initial(d: EngineDraft, o: RolloutObservations): void {
  const canary = d.canary!;
  const ready = readyOf(o, canary);
  d.keep(canary, o.replicas);
  d.traffic = { targets: [{ revision: canary, weight: 100 }] };
  if (ready >= o.replicas) return d.promoteFully(0);
  d.phase = 'Progressing';
  d.message = `revision ${o.revision}: ${ready}/${o.replicas} replicas ready`;
}

/** Rollback: skip the strategy's steps; switch all traffic the moment the target is ready (at once when warm). */
function switchWhenReady(d: EngineDraft, o: RolloutObservations): void {
  const canary = d.canary!;
  const ready = readyOf(o, canary);
  d.keep(canary, o.replicas);
  d.keep(d.stable!, workloadOf(o, d.stable!)?.desiredReplicas ?? o.replicas);
  if (ready >= o.replicas) return d.promoteFully(o.drainMs / 1000);
  d.traffic = {
    targets: [
      { revision: d.stable!, weight: 100 },
      { revision: canary, weight: 0 },
    ],
  };
  d.phase = 'Progressing';
  d.message = `rolling back to revision ${canary}: ${ready}/${o.replicas} replicas ready; revision ${d.stable} serves until then`;
}

/** No rollout (or an aborted one): the stable revision takes everything. */
function steady(d: EngineDraft, o: RolloutObservations): void {
  if (d.stable === undefined) {
    d.traffic = { targets: [] };
    d.message = 'nothing runs';
    return;
  }
  d.keep(d.stable, o.replicas);
  d.traffic = { targets: [{ revision: d.stable, weight: 100 }] };
  const ready = readyOf(o, d.stable);
  if (d.phase === 'Aborted') {
    d.message = `rollout of revision ${o.revision} aborted: ${d.abortReason ?? 'no reason recorded'}; revision ${d.stable} serves all traffic (${ready}/${o.replicas} ready)`;
    return;
  }
  d.phase = 'Healthy';
  d.message = `${ready}/${o.replicas} replicas ready`;
}

function finish(d: EngineDraft, o: RolloutObservations): RolloutStep {
  // Every workload that runs and is neither kept nor retiring leaves after the drain delay.
  for (const w of o.workloads) {
    if (!d.kept.has(w.revision) && !d.retiring.some((r) => r.revision === w.revision) && w.desiredReplicas > 0)
      d.retire(w.revision, o.drainMs, w.desiredReplicas);
  }
  d.retiring = d.retiring.filter((r) => Date.parse(r.removeAt) > o.now && !d.kept.has(r.revision));
  for (const r of d.retiring) {
    d.keep(r.revision, r.replicas);
    d.wake(Date.parse(r.removeAt));
  }
  const status: RolloutStatus = clean({
    revision: d.revision,
    stable: d.stable,
    canary: d.canary,
    strategy: d.strategy,
    phase: d.phase,
    stepIndex: d.stepIndex,
    weight: d.weight,
    stepStartedAt: d.stepStartedAt,
    analysis: d.analysis,
    backgroundAnalysis: d.backgroundAnalysis,
    analysisStep: d.analysisStep,
    retiring: d.retiring,
    handledRequest: d.handledRequest,
    traffic: d.traffic,
    abortReason: d.abortReason,
    shadow: d.shadow,
    message: d.message,
  });
  // A request left for the next step (a second promote) keeps the reconciler stepping.
  const pending = o.requests.some((r) => r.id > d.handledRequest);
  const settled =
    !pending &&
    d.wakeAt === undefined &&
    (d.phase === 'Healthy' || d.phase === 'Aborted' || d.phase === 'Paused') &&
    d.startAnalysis.length === 0 &&
    !runs(d.analysis) &&
    !runs(d.backgroundAnalysis);
  const actions: RolloutActions = {
    workloads: [...d.kept]
      .map(([revision, replicas]) => ({ revision, replicas }))
      .sort((a, b) => a.revision - b.revision),
    startAnalysis: d.startAnalysis,
    events: d.events,
    ...(d.incident === undefined ? {} : { incident: d.incident }),
    settled,
    ...(d.wakeAt === undefined ? {} : { wakeAt: d.wakeAt }),
  };
  return { status, actions };
}

function runs(run: AnalysisRunView | undefined): boolean {
  return run?.phase === 'running';
}

function clean<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}
