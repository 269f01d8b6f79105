/**
 * Controlling what runs without changing the model: scaling (a new revision with another replica
 * count) and rollout commands (`promote`, `abort`, `retry`), recorded on the deployment for the
 * rollout engine to act on within a reconcile. Each is a decision for deployment-changes.ts.
 */
import { autoscaled } from '../core/autoscaling/scaling-spec.js';
import { applyPatch } from '../core/deployment-spec.js';
import { InvalidArgumentError } from '../core/errors.js';
import { type Deployment, deploymentSpec } from '../core/resources.js';
import type { ChangeOptions, Decide } from './deployment-changes.js';
import { WORKLOAD_SPEC_KINDS } from '../workloads/workload-kind.js';

/** Rollout commands kept on a deployment (the engine remembers the last one it handled). */
const ROLLOUT_REQUESTS_KEPT = 20;

/** A rollout command as the API names it. */
export type RolloutAction = 'promote' | 'abort' | 'retry';

/** The scale decision: `replicas` (nothing to do if it is the current count). */
export function scaleChange(replicas: number, options: ChangeOptions): Decide {
  return (current) => {
    refuseAutoscaledScale(current, replicas);
    const spec = applyPatch(deploymentSpec(current), { configuration: { replicas } }, WORKLOAD_SPEC_KINDS);
    const from = current.configuration.replicas;
    if (from === replicas) return Promise.resolve(undefined);
    const message = `scaled from ${from} to ${replicas} replicas`;
    return Promise.resolve({
      spec,
      reason: options.reason ?? message,
      event: { type: 'Normal', reason: replicas > from ? 'ScaledUp' : 'ScaledDown', message },
    });
  };
}

/**
 * An autoscaled deployment that runs is sized by the autoscaler within its bounds, so a replica
 * count would be accepted and then ignored: refuse it, saying what to do instead. 0 replicas is a
 * stop (the autoscaler does not override it), and scaling a stopped deployment starts it again.
 */
export function refuseAutoscaledScale(current: Deployment, replicas: number): void {
  const { scaling } = current.configuration;
  if (!autoscaled(scaling) || replicas === 0 || current.configuration.replicas === 0) return;
  throw new InvalidArgumentError(
    `configuration.replicas: deployment ${JSON.stringify(current.name)} is autoscaled: the autoscaler sizes it between min ${scaling.min} and max ${scaling.max}, ` +
      'so a replica count would be ignored; change the bounds with `wharf deploy autoscale`, stop it with 0 replicas, ' +
      'or give it a fixed size (scaling min equal to max)',
  );
}

/**
 * The rollout-command decision: `promote` (the next step, or every step with `full`), `abort` (all
 * traffic back to stable) or `retry` (start an aborted rollout again), for the current revision;
 * refused when there is nothing to act on.
 */
export function rolloutCommandChange(
  action: RolloutAction,
  options: ChangeOptions & { full?: boolean },
  now: () => string,
): Decide {
  return (current) => {
    const rollout = current.status.rollout;
    const seen = current.status.observedRevision === current.revision && rollout?.revision === current.revision;
    const inProgress = !seen || (rollout.canary !== undefined && rollout.phase !== 'Aborted');
    if (action === 'retry' && seen && rollout.phase !== 'Aborted') {
      throw new InvalidArgumentError(
        `action: only an aborted rollout can be retried; revision ${current.revision} is ${rollout.phase.toLowerCase()}`,
      );
    }
    if (action !== 'retry' && !inProgress) {
      throw new InvalidArgumentError(
        `action: nothing to ${action}: revision ${current.revision} is not being rolled out (${rollout?.phase.toLowerCase() ?? 'no rollout'})`,
      );
    }
    const requests = current.rolloutRequests ?? [];
    const id = (requests.at(-1)?.id ?? rollout?.handledRequest ?? 0) + 1;
    const kind = action === 'promote' && options.full === true ? 'promote-full' : action;
    const request = { id, action: kind, revision: current.revision, by: options.actor, at: now() } as const;
    const document: Deployment = {
      ...current,
      rolloutRequests: [...requests, request].slice(-ROLLOUT_REQUESTS_KEPT),
    };
    const what = kind === 'promote-full' ? 'full promotion' : kind;
    return Promise.resolve({
      document,
      reason: '',
      event: {
        type: 'Normal',
        reason: 'RolloutCommand',
        message: `${what} of revision ${current.revision} requested by ${options.actor}${options.reason ? `: ${options.reason}` : ''}`,
      },
    });
  };
}
