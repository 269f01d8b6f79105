/**
 * The working copy of a rollout status during one engine step, as the per-strategy functions see
 * it: fields they may change and the few operations that keep the status consistent.
 */
import type { AnalysisStart, RolloutObservations, RolloutStatus, WorkloadObservation } from './rollout-types.js';

/** The stored status with every field writable: what one step reads and rewrites. */
export type WorkingStatus = { -readonly [K in keyof RolloutStatus]: RolloutStatus[K] };

/**
 * See the module comment. The status fields come from {@link RolloutStatus}, less those only the
 * engine handles (the strategy type, handled requests, the abort reason).
 */
export interface Draft extends Omit<WorkingStatus, 'strategy' | 'handledRequest' | 'abortReason'> {
  /** A promote request seen in this step, not yet used by the strategy. */
  promote: 'step' | 'full' | undefined;
  readonly nowIso: string;
  readonly startAnalysis: AnalysisStart[];
  event(type: 'Normal' | 'Warning', reason: string, message: string): void;
  /** Runs `revision` with at least `replicas` replicas after this step. */
  keep(revision: number, replicas: number): void;
  /** Asks to be stepped again by `at` (ms since the epoch). */
  wake(at: number): void;
  /** Stop sending traffic to `revision`; remove it after `afterMs`. */
  retire(revision: number, afterMs: number): void;
  /** Aborts the rollout: all traffic to stable, the canary retired; `automatic` records an incident. */
  abort(reason: string, automatic: boolean): void;
  /** Makes the canary stable; the previous stable stays up (no traffic) for `keepPreviousSeconds`. */
  promoteFully(keepPreviousSeconds: number): void;
  /** The strategy's scale-down delay for the previous revision after a promotion. */
  scaleDownDelaySeconds(): number;
}

/** The observation of workload `revision`, if it runs. */
export function workloadOf(o: RolloutObservations, revision: number): WorkloadObservation | undefined {
  return o.workloads.find((w) => w.revision === revision);
}

/** Ready replicas of workload `revision` (0 when it does not run). */
export function readyOf(o: RolloutObservations, revision: number): number {
  return workloadOf(o, revision)?.readyReplicas ?? 0;
}
