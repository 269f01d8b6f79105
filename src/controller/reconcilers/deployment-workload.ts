/**
 * The deployment reconciler's two translations between a deployment and the runtime: the workload
 * to apply for one of its revisions (built by the workload kind, with that revision's spec and
 * model version), and a running workload's status as the plan observes it.
 */
import type { Deployment, DeploymentSpec, ModelVersion, Revision } from '../../core/resources.js';
import type { Workload, WorkloadStatus } from '../../runtime/runtime.js';
import type { Store } from '../../store/store.js';
import { workloadKindOf } from '../../workloads/workload-kind.js';
import type { ObservedWorkload } from './deployment-plan.js';

/** The reconciler's settings a workload is built with (see `DeploymentReconcilerOptions`). */
export interface WorkloadSettings {
  readonly store: Store;
  /** A local path of the artifact (a remote registry's blob is fetched into a local cache first). */
  artifactPath(digest: string): string | Promise<string>;
  readonly startupGraceMs?: number;
  readonly testFaults?: boolean;
}

/** Workload `number` with the spec of `revision` and `replicas`. */
export async function buildWorkload(
  settings: WorkloadSettings,
  deployment: Deployment,
  number: number,
  revision: Revision,
  currentModel: ModelVersion,
  replicas: number,
): Promise<Workload> {
  const spec: DeploymentSpec = { ...revision.spec, configuration: { ...revision.spec.configuration, replicas } };
  const kind = workloadKindOf(spec.type);
  const model = kind.artifactOf(spec);
  const modelVersion =
    model === undefined || (model.name === currentModel.model && model.version === currentModel.version)
      ? currentModel
      : await settings.store.modelVersions.get({ model: model.name, version: model.version });
  const artifactPath = await settings.artifactPath(modelVersion.artifact.digest);
  const source = {
    environment: deployment.environment,
    name: deployment.name,
    revision: number,
    spec,
    modelVersion,
    artifactPath,
  };
  return kind.buildWorkload({ ...source, startupGraceMs: settings.startupGraceMs, testFaults: settings.testFaults });
}

/** A running workload as the plan sees it: replica counts, crash loop, dependencies, terminations. */
export function observed(w: WorkloadStatus): ObservedWorkload {
  const crash = w.conditions.find((c) => c.type === 'CrashLoop' && c.status === 'True');
  const dependencies = w.conditions.find((c) => c.type === 'DependenciesReady');
  return {
    revision: w.key.revision,
    desiredReplicas: w.desiredReplicas,
    readyReplicas: w.readyReplicas,
    ...(crash === undefined ? {} : { crashLoop: crash.message || crash.reason }),
    ...(dependencies === undefined || dependencies.status === 'True'
      ? {}
      : { dependencyProblem: dependencies.message || dependencies.reason }),
    ...(dependencies === undefined ? {} : { hasDependencies: true }),
    terminations: w.replicas.flatMap((r) =>
      r.lastTermination === undefined ? [] : [{ replica: r.id, ...r.lastTermination }],
    ),
  };
}
