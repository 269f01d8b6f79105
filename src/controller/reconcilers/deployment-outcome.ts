/**
 * The deployment phase, message and `Available`/`Progressing` conditions a plan writes: the
 * rollout engine's phase mapped onto the deployment's (see `deployment-plan.ts`), and the fixed
 * outcomes for a stop, a deletion and a failure. Pure.
 */
import type { Condition, DeploymentPhase } from '../../core/resources.js';
import type { RolloutStatus } from '../../core/rollout/rollout-types.js';
import type { ObservedWorkload, PlanInput } from './deployment-plan-types.js';

export type ConditionInput = Omit<Condition, 'lastTransitionTime'>;

export interface Outcome {
  phase: DeploymentPhase;
  message: string;
  available: ConditionInput;
  progressing: ConditionInput;
}

export function outcomeOf(input: PlanInput, rollout: RolloutStatus, ready: number): Outcome {
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

export function availability(available: boolean): ConditionInput {
  return available
    ? { type: 'Available', status: 'True', reason: 'ReplicasReady', message: 'ready replicas serve traffic' }
    : { type: 'Available', status: 'False', reason: 'NoReplicasReady', message: 'no ready replica serves traffic' };
}

export function stopped(message: string, reason: string): Outcome {
  return {
    phase: 'stopped',
    message,
    available: { type: 'Available', status: 'False', reason, message },
    progressing: { type: 'Progressing', status: 'False', reason, message },
  };
}

export function failed(message: string, reason: string, others: readonly ObservedWorkload[], ready = 0): Outcome {
  const serving = others.some((w) => w.readyReplicas > 0);
  const full = serving ? `${message}; older revisions keep serving` : message;
  return {
    phase: 'failed',
    message: full,
    available: availability(serving || ready > 0),
    progressing: { type: 'Progressing', status: 'False', reason, message: full },
  };
}
