/**
 * The deployment reconciler's two translations between a deployment and the runtime: the workload
 * to apply for one of its revisions (built by the workload kind, with that revision's spec and
 * model or bundle version), and a running workload's status as the plan observes it.
 */
import type { Deployment, DeploymentSpec, Revision } from '../../core/resources.js';
import type { Workload, WorkloadStatus } from '../../runtime/runtime.js';
import type { Store } from '../../store/store.js';
import { workloadKindOf } from '../../workloads/workload-kind.js';
import type { ObservedWorkload } from './deployment-plan.js';
import type { RevisionInputs } from './deployment-inputs.js';

/** The reconciler's settings a workload is built with (see `DeploymentReconcilerOptions`). */
export interface WorkloadSettings {
  readonly store: Store;
  artifactPath(digest: string): string;
  readonly startupGraceMs?: number;
  readonly testFaults?: boolean;
}

/**
 * Workload `number` with the spec of `revision` and `replicas`. `current` is what the current
 * revision runs; an older revision that names another model or bundle version has it read.
 */
export async function buildWorkload(
  settings: WorkloadSettings,
  deployment: Deployment,
  number: number,
  revision: Revision,
  current: RevisionInputs,
  replicas: number,
): Promise<Workload> {
  const spec: DeploymentSpec = { ...revision.spec, configuration: { ...revision.spec.configuration, replicas } };
  const kind = workloadKindOf(spec.type);
  const model = kind.artifactOf(spec);
  const currentModel = current.modelVersion;
  const modelVersion =
    model === undefined
      ? undefined
      : currentModel !== undefined && model.name === currentModel.model && model.version === currentModel.version
        ? currentModel
        : await settings.store.modelVersions.get({ model: model.name, version: model.version });
  const bundle = kind.bundleOf?.(spec);
  const currentBundle = current.bundleVersion;
  const bundleVersion =
    bundle === undefined
      ? undefined
      : currentBundle !== undefined && bundle.name === currentBundle.bundle && bundle.version === currentBundle.version
        ? currentBundle
        : await settings.store.bundleVersions.get({ bundle: bundle.name, version: bundle.version });
  const source = {
    environment: deployment.environment,
    name: deployment.name,
    revision: number,
    spec,
    ...(modelVersion === undefined
      ? {}
      : { modelVersion, artifactPath: settings.artifactPath(modelVersion.artifact.digest) }),
    ...(bundleVersion === undefined
      ? {}
      : { bundleVersion, bundlePath: settings.artifactPath(bundleVersion.artifact.digest) }),
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
