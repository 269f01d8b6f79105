/**
 * What a deployment reconcile reads from the store besides the deployment itself: its current
 * revision, the model or bundle version that revision runs (or why it cannot run), and how many replicas to
 * run (the autoscaler's decision or the spec's count).
 */
import { hasErrorCode, unlessNotFound } from '../../core/errors.js';
import type { BundleVersion, Deployment, DeploymentSpec, ModelVersion, Revision } from '../../core/resources.js';
import { MAX_REPLICAS } from '../../core/deployment-spec.js';
import { autoscaled, initialSize } from '../../core/autoscaling/scaling-spec.js';
import type { Store } from '../../store/store.js';
import { TerminalError } from '../reconciler.js';
import { workloadKindOf } from '../../workloads/workload-kind.js';

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

/** What a revision runs besides its spec: the model version, or the bundle version, its kind names. */
export interface RevisionInputs {
  readonly modelVersion?: ModelVersion;
  readonly bundleVersion?: BundleVersion;
}

/**
 * The model version (type `model`) or bundle version (`application`, `worker`, when the spec
 * names one) a revision runs, or why it cannot run (a version that does not exist, a type no
 * kind runs). The kind says what the spec names (`artifactOf`, `bundleOf`).
 */
export async function revisionInputsOf(
  store: Store,
  revision: Revision,
): Promise<{ inputs?: RevisionInputs; blocked?: string }> {
  const { spec } = revision;
  let kind;
  try {
    kind = workloadKindOf(spec.type);
  } catch (error) {
    return { blocked: (error as Error).message };
  }
  const model = kind.artifactOf(spec);
  if (spec.type === 'model' && model === undefined) return { blocked: 'a model deployment names no model' };
  const bundle = kind.bundleOf?.(spec);
  try {
    return {
      inputs: {
        ...(model === undefined
          ? {}
          : { modelVersion: await store.modelVersions.get({ model: model.name, version: model.version }) }),
        ...(bundle === undefined
          ? {}
          : { bundleVersion: await store.bundleVersions.get({ bundle: bundle.name, version: bundle.version }) }),
      },
    };
  } catch (error) {
    if (!hasErrorCode(error, 'NOT_FOUND')) throw error;
    const missing = model ?? bundle!;
    return {
      blocked: `${model === undefined ? 'bundle' : 'model'} ${missing.name} version ${missing.version} does not exist`,
    };
  }
}
