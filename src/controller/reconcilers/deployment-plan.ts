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
 */
import type { Condition, DeploymentPhase, DeploymentStatus } from '../../core/resources.js';
import { setCondition } from '../../core/resources.js';
import { step } from '../../core/rollout/engine.js';
import type { RolloutActions, RolloutRequest, RolloutStatus, ShadowSummary } from '../../core/rollout/rollout-types.js';
import type { StrategySpec } from '../../core/strategy.js';

/** One workload of the deployment, as the runtime reports it. */
export interface ObservedWorkload {
  readonly revision: number;
  readonly desiredReplicas: number;
  readonly readyReplicas: number;
  /** The message of a `CrashLoop` condition with status True, if any. */
  readonly crashLoop?: string;
  /** Why a declared dependency fails (its `DependenciesReady` condition is not True), if it does. */
  readonly dependencyProblem?: string;
  /** The workload declares dependencies (the engine reports a `DependenciesReady` condition). */
  readonly hasDependencies?: boolean;
  /** The last unrequested end of each replica's process, where the engine knows it. */
  readonly terminations?: readonly NonNullable<DeploymentStatus['lastTermination']>[];
}

/** What the plan is computed from. */
export interface PlanInput {
  /** The current revision's number (N). */
  readonly revision: number;
  /**
   * The workload revision that runs N (default N): a running or earlier workload whose spec differs
   * from N's only in what can change in place (replicas, strategy, scaling), so that a scale
   * resizes the running replicas and a rollback to a warm revision reuses them.
   */
  readonly workloadRevision?: number;
  readonly replicas: number;
  /** `replicas` is 0 because the autoscaler scaled an idle deployment to zero (not a stop). */
  readonly scaledToZero?: boolean;
  readonly strategy: StrategySpec;
  /** N was made by a rollback: the phase reads `rolling-back` until N is ready. */
  readonly rollback: boolean;
  readonly deleting: boolean;
  /** Why N cannot be run at all (e.g. its model version no longer exists). */
  readonly blocked?: string;
  /** Every workload of this deployment the runtime runs, any revision. */
  readonly workloads: readonly ObservedWorkload[];
  /** The status as stored. */
  readonly status: DeploymentStatus;
  /** Unhandled rollout requests (promote, abort, retry). */
  readonly requests?: readonly RolloutRequest[];
  /** The shadow comparison of the canary, when the strategy mirrors. */
  readonly shadow?: ShadowSummary;
  /** How long a workload leaving traffic stays up before removal (gateways switch first). */
  readonly drainMs?: number;
  /** ISO time for condition transitions; also the engine's clock. */
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
  /** Workloads to apply, by revision, with their replica counts (all > 0). */
  readonly apply: readonly { readonly revision: number; readonly replicas: number }[];
  /** Revisions whose workloads to remove. */
  readonly remove: readonly number[];
  /** Nothing runs any more and deletion was asked for: delete the record. */
  readonly deleteRecord: boolean;
  readonly status: DeploymentStatus;
  readonly events: readonly PlannedEvent[];
  /** Analysis runs to create, an incident to record (from the rollout engine). */
  readonly startAnalysis: RolloutActions['startAnalysis'];
  readonly incident?: RolloutActions['incident'];
  /** When a timed step is due (ms since the epoch), if any. */
  readonly wakeAt?: number;
  /** Nothing left to do until something changes; otherwise poll again soon. */
  readonly converged: boolean;
}

/** Default of {@link PlanInput.drainMs}: above the route publisher's 1 s poll plus a watch hop. */
export const DEFAULT_DRAIN_MS = 2_000;

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

function outcomeOf(input: PlanInput, rollout: RolloutStatus, ready: number): Outcome {
  const { revision, replicas } = input;
  const dependency = input.workloads.find((w) => w.revision === (rollout.canary ?? rollout.stable))?.dependencyProblem;
  const counts = `${ready}/${replicas} replicas ready${dependency === undefined || ready >= replicas ? '' : ` (not ready while a dependency fails: ${dependency})`}`;
  const crash = input.workloads.find((w) => w.revision === (rollout.canary ?? rollout.stable))?.crashLoop;
  switch (rollout.phase) {
    case 'Aborted':
      return failed(rollout.message, 'RolloutAborted', [], ready);
    case 'Healthy':
      if (ready >= replicas) {
        return {
          phase: 'running',
          message: counts,
          available: { type: 'Available', status: 'True', reason: 'ReplicasReady', message: counts },
          progressing: {
            type: 'Progressing',
            status: 'False',
            reason: 'RevisionAvailable',
            message: `revision ${revision} is available`,
          },
        };
      }
      if (crash !== undefined) return failed(`revision ${revision} is crash-looping: ${crash}`, 'CrashLoop', [], ready);
      return progressing(input, `revision ${revision}: ${counts}`, ready > 0);
    case 'Paused':
      return {
        phase: 'running',
        message: rollout.message,
        available: availability(true),
        progressing: { type: 'Progressing', status: 'True', reason: 'RolloutPaused', message: rollout.message },
      };
    case 'Progressing': {
      if (crash !== undefined) {
        const others = input.workloads.filter((w) => w.revision !== rollout.canary);
        return failed(
          `revision ${revision} is crash-looping: ${crash}`,
          'CrashLoop',
          rollout.stable === undefined ? [] : others,
          ready,
        );
      }
      return progressing(input, rollout.message, ready > 0);
    }
  }
}

function progressing(input: PlanInput, message: string, available: boolean): Outcome {
  return {
    phase: input.rollback ? 'rolling-back' : 'deploying',
    message,
    available: availability(available),
    progressing: {
      type: 'Progressing',
      status: 'True',
      reason: input.rollback ? 'RollingBack' : 'NewRevisionProgressing',
      message,
    },
  };
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
