/**
 * The deployment reconciler's decisions, as one pure function over what it read: which workloads
 * run with how many replicas, which are removed, whether the record can go, and the status to
 * write. No I/O, no clock (the caller passes `now`), so every case is a row in a table test.
 *
 * Rules:
 * - Deletion: every workload is removed; once none is observed the record may be deleted.
 * - A problem found before anything could run (e.g. the model version is gone) is `failed` with
 *   that message, and nothing is applied or removed.
 * - 0 replicas: nothing runs; every workload is removed and the phase is `stopped`.
 * - Otherwise the rollout engine (`core/rollout/engine.ts`) decides the workloads and the traffic
 *   for the strategy, and its status maps onto the deployment phase: Healthy → running (deploying
 *   until every replica is ready), Progressing → deploying (rolling-back for a rollback), Paused →
 *   running (the stable revision serves; the message says what the rollout waits for), Aborted →
 *   failed. A crash-looping revision with nothing else to serve is `failed`.
 *
 * Beside it: `deployment-plan-types.ts` (the input and plan types, re-exported here) and
 * `deployment-outcome.ts` (phase, message and conditions for each case).
 */
import type { Condition, DeploymentPhase, DeploymentStatus } from '../../core/resources.js';
import { setCondition } from '../../core/resources.js';
import { step } from '../../core/rollout/engine.js';
import type { RolloutActions, RolloutStatus } from '../../core/rollout/rollout-types.js';
import { type Outcome, outcomeOf, failed, stopped } from './deployment-outcome.js';
import { type DeploymentPlan, DEFAULT_DRAIN_MS, type PlanInput, type PlannedEvent } from './deployment-plan-types.js';

export type { DeploymentPlan, ObservedWorkload, PlanInput, PlannedEvent } from './deployment-plan-types.js';
export { DEFAULT_DRAIN_MS } from './deployment-plan-types.js';

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** See the module comment. */
export function planDeployment(input: PlanInput): DeploymentPlan {
  const { revision, replicas, workloads } = input;
  const nothing = { startAnalysis: [] as RolloutActions['startAnalysis'] };
  if (input.deleting) {
    const message = workloads.length === 0 ? 'deleted' : `deleting: stopping ${plural(workloads.length, 'workload')}`;
    return finish(
      input,
      {
        apply: [],
        remove: workloads.map((w) => w.revision),
        deleteRecord: workloads.length === 0,
        converged: workloads.length === 0,
        ...nothing,
      },
      stopped(message, 'Deleting'),
      0,
      input.status.rollout,
    );
  }
  if (input.blocked !== undefined) {
    const others = workloads.filter((w) => w.revision !== (input.workloadRevision ?? revision));
    return finish(
      input,
      { apply: [], remove: [], deleteRecord: false, converged: true, ...nothing },
      failed(`revision ${revision}: ${input.blocked}`, 'RevisionBlocked', others),
      0,
      input.status.rollout,
    );
  }
  if (replicas === 0) {
    const message = input.scaledToZero
      ? workloads.length === 0
        ? 'scaled to zero while idle; the gateway holds requests while a replica starts'
        : `scaling to zero: stopping ${plural(workloads.length, 'workload')}`
      : workloads.length === 0
        ? 'stopped (0 replicas)'
        : `stopping ${plural(workloads.length, 'workload')}`;
    const rollout =
      input.status.rollout === undefined
        ? undefined
        : {
            ...input.status.rollout,
            revision,
            canary: undefined,
            phase: 'Healthy' as const,
            traffic: { targets: [] },
            retiring: [],
            message,
          };
    const outcome = input.scaledToZero
      ? { ...stopped(message, 'ScaledToZero'), phase: 'running' as const }
      : stopped(message, 'ScaledToZero');
    return finish(
      input,
      {
        apply: [],
        remove: workloads.map((w) => w.revision),
        deleteRecord: false,
        converged: workloads.length === 0,
        ...nothing,
      },
      outcome,
      0,
      rollout,
    );
  }

  const now = Date.parse(input.now);
  const { status: rollout, actions } = step(input.strategy, input.status.rollout, {
    now,
    revision,
    workloadRevision: input.workloadRevision ?? revision,
    replicas,
    rollback: input.rollback,
    workloads,
    requests: input.requests ?? [],
    ...(input.shadow === undefined ? {} : { shadow: input.shadow }),
    drainMs: input.drainMs ?? DEFAULT_DRAIN_MS,
  });
  const apply = actions.workloads.filter((w) => w.replicas > 0);
  const remove = workloads.filter((w) => !apply.some((a) => a.revision === w.revision)).map((w) => w.revision);
  // Ready capacity behind the traffic: the replicas of every revision that gets a share.
  const weighted = rollout.traffic.targets.filter((t) => t.weight > 0).map((t) => t.revision);
  const ready = Math.min(
    replicas,
    workloads.filter((w) => weighted.includes(w.revision)).reduce((n, w) => n + w.readyReplicas, 0),
  );
  const outcome = outcomeOf(input, rollout, ready);
  const converged =
    actions.settled && remove.length === 0 && outcome.phase !== 'deploying' && outcome.phase !== 'rolling-back';
  return finish(
    input,
    {
      apply,
      remove,
      deleteRecord: false,
      converged,
      startAnalysis: actions.startAnalysis,
      ...(actions.incident === undefined ? {} : { incident: actions.incident }),
      ...(actions.wakeAt === undefined ? {} : { wakeAt: actions.wakeAt }),
    },
    outcome,
    ready,
    rollout,
    actions.events,
  );
}

type PlanParts = Omit<DeploymentPlan, 'status' | 'events'>;

function finish(
  input: PlanInput,
  parts: PlanParts,
  outcome: Outcome,
  ready: number,
  rollout: RolloutStatus | undefined,
  rolloutEvents: readonly PlannedEvent[] = [],
): DeploymentPlan {
  const status: DeploymentStatus = {
    phase: outcome.phase,
    conditions: dependencyCondition(
      input,
      setCondition(setCondition(input.status.conditions, outcome.available, input.now), outcome.progressing, input.now),
    ),
    message: outcome.message,
    readyReplicas: input.deleting || input.replicas === 0 ? 0 : ready,
    desiredReplicas: input.deleting ? 0 : input.replicas,
    observedRevision: input.revision,
    ...(rollout === undefined ? {} : { rollout }),
  };
  const terminations = newTerminations(input);
  if (terminations.length > 0) status.lastTermination = terminations[terminations.length - 1]!;
  else if (input.status.lastTermination !== undefined) status.lastTermination = input.status.lastTermination;
  const terminationEvents = terminations.map((t): PlannedEvent => ({
    type: 'Warning',
    reason: t.reason === 'Error' ? 'ReplicaFailed' : t.reason,
    message: `replica ${t.replica}: ${t.message}`,
  }));
  const events = [...rolloutEvents, ...terminationEvents, ...transitionEvents(input.status, status, input.deleting)];
  return { ...parts, status, events };
}

/**
 * `DependenciesReady` on the deployment: False naming the failing dependency while a workload of
 * the deployment reports one, True while its workloads declare dependencies that pass; otherwise
 * the condition is left as it was.
 */
function dependencyCondition(input: PlanInput, conditions: Condition[]): Condition[] {
  const failing = input.workloads.find((w) => w.dependencyProblem !== undefined);
  if (failing !== undefined) {
    return setCondition(
      conditions,
      {
        type: 'DependenciesReady',
        status: 'False',
        reason: 'DependencyFailed',
        message: `revision ${failing.revision}: ${failing.dependencyProblem}`,
      },
      input.now,
    );
  }
  if (input.workloads.some((w) => w.hasDependencies)) {
    return setCondition(
      conditions,
      {
        type: 'DependenciesReady',
        status: 'True',
        reason: 'DependenciesPassed',
        message: 'every declared dependency answers',
      },
      input.now,
    );
  }
  return conditions;
}

/** Replica terminations newer than the last one recorded on the status, oldest first (one event each). */
function newTerminations(input: PlanInput): NonNullable<DeploymentStatus['lastTermination']>[] {
  const since = input.status.lastTermination?.time ?? '';
  return input.workloads
    .flatMap((w) => w.terminations ?? [])
    .filter((t) => t.time > since)
    .sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : 0));
}

const EVENT_REASONS: Record<DeploymentPhase, string> = {
  deploying: 'Deploying',
  'rolling-back': 'RollingBack',
  running: 'Running',
  stopped: 'Stopped',
  failed: 'Failed',
};

/** One event when the phase or the revision being worked on changes. */
function transitionEvents(before: DeploymentStatus, after: DeploymentStatus, deleting: boolean): PlannedEvent[] {
  if (before.phase === after.phase && before.observedRevision === after.observedRevision) return [];
  const reason = deleting ? 'Deleting' : EVENT_REASONS[after.phase];
  return [{ type: after.phase === 'failed' ? 'Warning' : 'Normal', reason, message: after.message ?? after.phase }];
}
