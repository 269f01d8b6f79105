/**
 * The deployment reconciler's decisions, as one pure function over what it read: which workload to
 * apply, which to remove, whether the record can go, and the status to write. No I/O, no clock (the
 * caller passes `now`), so every case is a row in a table test.
 *
 * Rules:
 * - The current revision N is applied with the spec's replica count (idempotent in the runtime).
 * - Replacement keeps serving: other revisions' workloads are removed only once N has all its
 *   replicas ready. The `recreate` strategy removes them at once (downtime accepted by choice);
 *   every other strategy behaves like `rolling` until the rollout engine takes them over.
 * - 0 replicas: nothing runs; every workload is removed and the phase is `stopped`.
 * - Deletion: every workload is removed; once none is observed the record may be deleted.
 * - A CrashLoop condition on N makes the phase `failed` (older revisions keep serving meanwhile).
 * - A problem found before anything could run (e.g. the model version is gone) is `failed` with
 *   that message, and nothing is applied or removed.
 */
import type { Condition, DeploymentPhase, DeploymentStatus, StrategyType } from '../../core/resources.js';
import { setCondition } from '../../core/resources.js';

/** One workload of the deployment, as the runtime reports it. */
export interface ObservedWorkload {
  readonly revision: number;
  readonly desiredReplicas: number;
  readonly readyReplicas: number;
  /** The message of a `CrashLoop` condition with status True, if any. */
  readonly crashLoop?: string;
}

/** What the plan is computed from. */
export interface PlanInput {
  /** The current revision's number (N). */
  readonly revision: number;
  /**
   * The revision whose workload runs N (default N): the earliest revision whose spec differs from
   * N's only in the replica count, so that a scale resizes the running replicas instead of
   * replacing them all.
   */
  readonly workloadRevision?: number;
  readonly replicas: number;
  readonly strategy: StrategyType;
  /** N was made by a rollback: the phase reads `rolling-back` until N is ready. */
  readonly rollback: boolean;
  readonly deleting: boolean;
  /** Why N cannot be run at all (e.g. its model version no longer exists). */
  readonly blocked?: string;
  /** Every workload of this deployment the runtime runs, any revision. */
  readonly workloads: readonly ObservedWorkload[];
  /** The status as stored. */
  readonly status: DeploymentStatus;
  /** ISO time for condition transitions. */
  readonly now: string;
}

/** An event to append for people reading the deployment's history. */
export interface PlannedEvent {
  readonly type: 'Normal' | 'Warning';
  readonly reason: string;
  readonly message: string;
}

/** What to do, in order: apply, remove, write status (+ events), maybe delete the record. */
export interface DeploymentPlan {
  /** Apply revision N's workload. */
  readonly apply: boolean;
  /** Revisions whose workloads to remove. */
  readonly remove: readonly number[];
  /** Nothing runs any more and deletion was asked for: delete the record. */
  readonly deleteRecord: boolean;
  readonly status: DeploymentStatus;
  readonly events: readonly PlannedEvent[];
  /** Nothing left to do until something changes; otherwise poll again soon. */
  readonly converged: boolean;
}

type ConditionInput = Omit<Condition, 'lastTransitionTime'>;

interface Outcome {
  phase: DeploymentPhase;
  message: string;
  available: ConditionInput;
  progressing: ConditionInput;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** See the module comment. */
export function planDeployment(input: PlanInput): DeploymentPlan {
  const { revision, replicas, workloads } = input;
  const own = input.workloadRevision ?? revision;
  const current = workloads.find((w) => w.revision === own);
  const others = workloads.filter((w) => w.revision !== own);
  const ready = current?.readyReplicas ?? 0;
  let apply = false;
  let remove: number[] = [];
  let outcome: Outcome;
  let converged: boolean;

  if (input.deleting) {
    remove = workloads.map((w) => w.revision);
    const message = workloads.length === 0 ? 'deleted' : `deleting: stopping ${plural(workloads.length, 'workload')}`;
    outcome = stopped(message, 'Deleting');
    converged = workloads.length === 0;
  } else if (input.blocked !== undefined) {
    outcome = failed(`revision ${revision}: ${input.blocked}`, 'RevisionBlocked', others);
    converged = true;
  } else if (replicas === 0) {
    remove = workloads.map((w) => w.revision);
    outcome = stopped(workloads.length === 0 ? 'stopped (0 replicas)' : `stopping ${plural(workloads.length, 'workload')}`, 'ScaledToZero');
    converged = workloads.length === 0;
  } else {
    apply = true;
    const complete = current !== undefined && current.desiredReplicas === replicas && ready >= replicas;
    if (complete || input.strategy === 'recreate') remove = others.map((w) => w.revision);
    const serving = others.filter((w) => w.readyReplicas > 0).sort((a, b) => b.revision - a.revision)[0];
    const counts = `${ready}/${replicas} replicas ready`;
    if (complete) {
      outcome = {
        phase: 'running',
        message: counts,
        available: { type: 'Available', status: 'True', reason: 'ReplicasReady', message: counts },
        progressing: { type: 'Progressing', status: 'False', reason: 'RevisionAvailable', message: `revision ${revision} is available` },
      };
      converged = others.length === 0;
    } else if (current?.crashLoop !== undefined) {
      outcome = failed(`revision ${revision} is crash-looping: ${current.crashLoop}`, 'CrashLoop', others, ready);
      converged = false;
    } else {
      const rest = serving === undefined || remove.includes(serving.revision) ? '' : `; revision ${serving.revision} serves until then`;
      const message = `revision ${revision}: ${counts}${rest}`;
      outcome = {
        phase: input.rollback ? 'rolling-back' : 'deploying',
        message,
        available: availability(ready > 0 || (serving !== undefined && rest !== '')),
        progressing: { type: 'Progressing', status: 'True', reason: input.rollback ? 'RollingBack' : 'NewRevisionProgressing', message },
      };
      converged = false;
    }
  }

  const status: DeploymentStatus = {
    phase: outcome.phase,
    conditions: setCondition(setCondition(input.status.conditions, outcome.available, input.now), outcome.progressing, input.now),
    message: outcome.message,
    readyReplicas: input.deleting || replicas === 0 ? 0 : ready,
    observedRevision: revision,
  };
  const events = transitionEvents(input.status, status, input.deleting);
  return { apply, remove, deleteRecord: input.deleting && workloads.length === 0, status, events, converged };
}

function availability(available: boolean): ConditionInput {
  return available
    ? { type: 'Available', status: 'True', reason: 'ReplicasReady', message: 'ready replicas serve traffic' }
    : { type: 'Available', status: 'False', reason: 'NoReplicasReady', message: 'no ready replica serves traffic' };
}

function stopped(message: string, reason: string): Outcome {
  return {
    phase: 'stopped',
    message,
    available: { type: 'Available', status: 'False', reason, message },
    progressing: { type: 'Progressing', status: 'False', reason, message },
  };
}

function failed(message: string, reason: string, others: readonly ObservedWorkload[], ready = 0): Outcome {
  const serving = others.some((w) => w.readyReplicas > 0);
  const full = serving ? `${message}; older revisions keep serving` : message;
  return {
    phase: 'failed',
    message: full,
    available: availability(serving || ready > 0),
    progressing: { type: 'Progressing', status: 'False', reason, message: full },
  };
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
