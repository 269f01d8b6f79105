/**
 * The deployment plan's input and output types: what the reconciler observed and read (the
 * workloads, the revision, the stored status, rollout requests) and what the plan tells it to do.
 * `deployment-plan.ts` re-exports them.
 */
import type { DeploymentStatus } from '../../core/resources.js';
import type { RolloutActions, RolloutRequest, ShadowSummary } from '../../core/rollout/rollout-types.js';
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
