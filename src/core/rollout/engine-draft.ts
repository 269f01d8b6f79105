/**
 * The engine's working copy of one step: the {@link Draft} the strategies see, built over the stored
 * status, plus what only the engine handles (kept workloads, events, the incident, the wake time,
 * retiring and resetting). Its operations keep the status consistent; the stored status is never
 * changed in place.
 */
import { STRATEGY_DEFAULTS, type StrategySpec } from '../strategy.js';
import type { RolloutEvent, RolloutObservations, RolloutPhase, RolloutStatus } from './rollout-types.js';
import { type Draft, type WorkingStatus, workloadOf } from './draft.js';

/** The working copy of one step: the {@link Draft} strategies see, plus what only the engine handles. */
export interface EngineDraft extends Draft, WorkingStatus {
  /** Desired replicas per workload revision after this step. */
  readonly kept: Map<number, number>;
  readonly events: RolloutEvent[];
  incident: { reason: string; message: string } | undefined;
  wakeAt: number | undefined;
  /** `replicas` overrides the observed count (a workload leaving at its current size). */
  retire(revision: number, afterMs: number, replicas?: number): void;
  /** Back to the first step in `phase`, forgetting the previous attempt's analyses, shadow figures and abort reason. */
  resetProgress(phase: RolloutPhase): void;
}

/** A working copy of `s`; `s` itself is never changed. */
export function newDraft(spec: StrategySpec, o: RolloutObservations, s: RolloutStatus): EngineDraft {
  const d: EngineDraft = {
    ...s,
    promote: undefined,
    nowIso: new Date(o.now).toISOString(),
    kept: new Map(),
    events: [],
    startAnalysis: [],
    incident: undefined,
    wakeAt: undefined,

    event(type, reason, message) {
      d.events.push({ type, reason, message });
    },

    keep(revision, replicas) {
      d.kept.set(revision, Math.max(d.kept.get(revision) ?? 0, replicas));
    },

    wake(at) {
      d.wakeAt = d.wakeAt === undefined ? at : Math.min(d.wakeAt, at);
    },

    retire(revision, afterMs, replicas) {
      if (d.retiring.some((r) => r.revision === revision)) return;
      const current = replicas ?? workloadOf(o, revision)?.desiredReplicas ?? 0;
      if (current === 0 && afterMs > 0 && workloadOf(o, revision) === undefined) return;
      d.retiring = [...d.retiring, { revision, replicas: current, removeAt: new Date(o.now + afterMs).toISOString() }];
    },

    resetProgress(phase) {
      d.phase = phase;
      d.stepIndex = 0;
      d.weight = 0;
      d.stepStartedAt = d.nowIso;
      d.analysis = undefined;
      d.backgroundAnalysis = undefined;
      d.analysisStep = undefined;
      d.abortReason = undefined;
      d.shadow = undefined;
    },

    abort(reason, automatic) {
      const canary = d.canary!;
      d.phase = 'Aborted';
      d.abortReason = reason;
      d.weight = 0;
      d.retire(canary, o.drainMs);
      d.event(
        'Warning',
        'RolloutAborted',
        `revision ${d.revision} (workload ${canary}): ${reason}; all traffic back on revision ${d.stable}`,
      );
      if (automatic)
        d.incident = {
          reason: 'RolloutAborted',
          message: `rollout of revision ${d.revision} aborted automatically: ${reason}`,
        };
    },

    promoteFully(keepPreviousSeconds) {
      const previous = d.stable;
      const next = d.canary!;
      if (previous !== undefined && previous !== next) {
        d.kept.delete(previous);
        d.retire(previous, keepPreviousSeconds * 1000);
      }
      d.stable = next;
      d.canary = undefined;
      d.resetProgress('Healthy');
      d.promote = undefined;
      if (previous !== undefined && previous !== next) {
        d.event(
          'Normal',
          'Promoted',
          `revision ${d.revision} (workload ${next}) serves all traffic; revision ${previous} stays up for ${keepPreviousSeconds} s`,
        );
      }
    },

    scaleDownDelaySeconds() {
      return (
        spec.canary?.scaleDownDelaySeconds ??
        spec.blueGreen?.scaleDownDelaySeconds ??
        STRATEGY_DEFAULTS.scaleDownDelaySeconds
      );
    },
  };
  return d;
}
