/**
 * The rollout engine's data: what it stores on the deployment status, what it observes, and what
 * it decides. Plain JSON, so a control plane killed mid-rollout resumes from the stored status.
 */
import type { AnalysisPhase } from '../analysis/run.js';
import type { OnInconclusive } from '../analysis/template.js';
import type { StrategySpec } from '../strategy.js';

/** How a rollout stands. */
export type RolloutPhase =
  /** Moving: replicas starting, a weight step, an analysis or a timed pause running. */
  | 'Progressing'
  /** Waiting for `promote` (an untimed pause, blue-green preview, shadow, A/B test). */
  | 'Paused'
  /** The current revision serves all traffic. */
  | 'Healthy'
  /** Stopped by `abort` or a failed analysis: all traffic on stable, the new revision scaled down. */
  | 'Aborted';

/** The part of an analysis run the engine reads; the stored run holds more (measurements). */
export interface AnalysisRunView {
  readonly phase: AnalysisPhase;
  readonly message?: string;
  /** What the run does when inconclusive: pause (default), fail or pass. */
  readonly onInconclusive?: OnInconclusive;
}

/** Where traffic goes, by workload revision; the route compiler turns it into gateway routes. */
export interface TrafficSplit {
  /** Relative weights; a target with weight 0 still gets matched or mirrored requests. */
  readonly targets: readonly { readonly revision: number; readonly weight: number }[];
  readonly mirror?: { readonly revision: number; readonly percent: number; readonly tolerance?: number };
  readonly matches?: readonly {
    readonly header?: { name: string; value: string };
    readonly cookie?: { name: string; value: string };
    readonly revision: number;
  }[];
  readonly sticky?: { readonly header?: string; readonly cookie?: string };
  /** Blue-green: the revision the preview endpoint serves. */
  readonly preview?: number;
}

/** A workload that no longer gets traffic and is removed at `removeAt` (kept warm until then). */
export interface RetiringWorkload {
  readonly revision: number;
  readonly replicas: number;
  readonly removeAt: string;
}

/** The shadow comparison shown in status (see `MetricsSource.shadow`). */
export interface ShadowSummary {
  readonly mirrored: number;
  readonly compared: number;
  readonly agreementRate?: number;
  readonly meanAbsoluteDifference?: number;
  readonly latencyDeltaSeconds?: number;
  readonly errorRateDelta?: number;
}

/** What the engine stores on `status.rollout`. */
export interface RolloutStatus {
  /** The deployment revision this status is about (the current one once acted on). */
  readonly revision: number;
  /** Workload revision that serves as the baseline; absent before anything was up. */
  readonly stable?: number;
  /** Workload revision being rolled out; absent when none. */
  readonly canary?: number;
  readonly strategy: StrategySpec['type'];
  readonly phase: RolloutPhase;
  /** Canary: index of the step being worked on (= steps.length once all are done). */
  readonly stepIndex: number;
  /** Percent of traffic on the canary. */
  readonly weight: number;
  /** When the current step (pause) started. */
  readonly stepStartedAt?: string;
  /** The step's analysis run (canary analysis step, blue-green pre-promotion). Stored whole. */
  readonly analysis?: AnalysisRunView;
  /** Canary background analysis. */
  readonly backgroundAnalysis?: AnalysisRunView;
  /** The canary step the `analysis` run belongs to (0 for blue-green's pre-promotion run). */
  readonly analysisStep?: number;
  readonly retiring: readonly RetiringWorkload[];
  /** Id of the last rollout request handled. */
  readonly handledRequest: number;
  readonly traffic: TrafficSplit;
  /** Why it was aborted. */
  readonly abortReason?: string;
  readonly shadow?: ShadowSummary;
  /** A human sentence: what happens now, what it waits for. */
  readonly message: string;
}

/** A command from a user, stored on the deployment until the engine handles it. */
export interface RolloutRequest {
  /** Increasing per deployment. */
  readonly id: number;
  readonly action: 'promote' | 'promote-full' | 'abort' | 'retry';
  /** The deployment revision it was given for; ignored once another revision is current. */
  readonly revision: number;
  readonly by: string;
  readonly at: string;
}

/** One workload as the runtime reports it. */
export interface WorkloadObservation {
  readonly revision: number;
  readonly desiredReplicas: number;
  readonly readyReplicas: number;
  /** Message of a CrashLoop condition, if one is true. */
  readonly crashLoop?: string;
}

/** Everything the engine decides from, read by the reconciler. */
export interface RolloutObservations {
  /** Milliseconds since the epoch. */
  readonly now: number;
  /** The current deployment revision N. */
  readonly revision: number;
  /** The workload revision that runs N (a warm older workload with the same spec, or N). */
  readonly workloadRevision: number;
  readonly replicas: number;
  /** N was made by a rollback: switch as soon as ready, skipping the strategy's steps. */
  readonly rollback: boolean;
  readonly workloads: readonly WorkloadObservation[];
  /** Requests with an id above `status.handledRequest`, oldest first. */
  readonly requests: readonly RolloutRequest[];
  readonly shadow?: ShadowSummary;
  /** How long a workload leaving traffic stays up so every gateway stops using it first. */
  readonly drainMs: number;
}

/** An event for people reading the history. */
export interface RolloutEvent {
  readonly type: 'Normal' | 'Warning';
  readonly reason: string;
  readonly message: string;
}

/** An analysis run for the reconciler to create: it resolves the template and stores the run in `slot`. */
export interface AnalysisStart {
  readonly slot: 'analysis' | 'backgroundAnalysis';
  readonly template: string;
  readonly args?: Record<string, string | number>;
}

/** What the reconciler must do, in order, after a step. */
export interface RolloutActions {
  /** Desired replicas per workload revision; every observed workload not listed is removed. */
  readonly workloads: readonly { readonly revision: number; readonly replicas: number }[];
  /** Analysis runs to create. */
  readonly startAnalysis: readonly AnalysisStart[];
  readonly events: readonly RolloutEvent[];
  /** An automatic abort to record as an incident. */
  readonly incident?: { readonly reason: string; readonly message: string };
  /** True when nothing will change without a new observation (no timer pending). */
  readonly settled: boolean;
  /** When a timed step or a removal is due, if any (ms since the epoch). */
  readonly wakeAt?: number;
}

/** The engine's answer. */
export interface RolloutStep {
  readonly status: RolloutStatus;
  readonly actions: RolloutActions;
}
