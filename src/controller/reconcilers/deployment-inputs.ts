/**
 * What a deployment reconcile reads from the store besides the deployment itself: its current
 * revision, the model version that revision runs (or why it cannot run), and how many replicas to
 * run (the autoscaler's decision or the spec's count).
 */
import { hasErrorCode, unlessNotFound } from '../../core/errors.js';
import type { Deployment, DeploymentSpec, ModelVersion, Revision } from '../../core/resources.js';
import { MAX_REPLICAS } from '../../core/deployment-spec.js';
import { autoscaled, initialSize } from '../../core/autoscaling/scaling-spec.js';
import type { Store } from '../../store/store.js';
import { TerminalError } from '../reconciler.js';

/**
 * Replicas to run: the autoscaler's decision for an autoscaled spec that is not stopped (it already applied the
 * bounds and schedules), else the spec's count. Before the autoscaler's first decision, the
 * spec's count within its bounds.
 */
export async function replicasToRun(store: Store, id: string, spec: DeploymentSpec): Promise<number> {
  const { replicas, scaling } = spec.configuration;
  // 0 replicas in the spec is a stop, which the autoscaler does not override.
  if (!autoscaled(scaling) || replicas === 0) return replicas;
  const state = await unlessNotFound(store.autoscalers.get(id));
  if (state !== undefined) return Math.min(MAX_REPLICAS, Math.max(0, state.desiredReplicas));
  return initialSize(spec.configuration);
}

/** The current revision's immutable snapshot; its absence breaks an invariant no retry fixes. */
export async function currentRevision(store: Store, deployment: Deployment): Promise<Revision> {
  try {
    return await store.revisions.get({ deployment: deployment.id, number: deployment.revision });
  } catch (error) {
    if (hasErrorCode(error, 'NOT_FOUND'))
      throw new TerminalError(`revision ${deployment.revision} of deployment ${deployment.id} is missing`);
    throw error;
  }
}

/** The model version a revision runs, or why it cannot run. */
export async function modelVersionOf(
  store: Store,
  revision: Revision,
): Promise<{ modelVersion?: ModelVersion; blocked?: string }> {
  const { spec } = revision;
  if (spec.type !== 'model' || spec.model === undefined)
    return { blocked: `type '${spec.type}' cannot run yet: only model deployments are supported` };
  try {
    return {
      modelVersion: await store.modelVersions.get({ model: spec.model.name, version: spec.model.version }),
    };
  } catch (error) {
    if (hasErrorCode(error, 'NOT_FOUND'))
      return { blocked: `model ${spec.model.name} version ${spec.model.version} does not exist` };
    throw error;
  }
}
