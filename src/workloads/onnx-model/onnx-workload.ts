/**
 * The runtime workload of one revision of an ONNX model deployment: the common part
 * (`workload-base.ts`) plus the model its replicas serve with `wharf serve-model`. Pure: the same
 * revision always yields the same workload (engines refuse a changed spec under a running key, and
 * an idempotent `apply` is what lets a restarted controller adopt the replicas it finds instead of
 * doubling them).
 */
import type { DeploymentSpec, ModelVersion } from '../../core/resources.js';
import { MODEL_PROBE_PATHS } from '../../protocol/oip-paths.js';
import type { Workload } from '../../runtime/runtime.js';
import { baseWorkload } from '../workload-base.js';
import { plainEnv } from '../../core/env-spec.js';
import { faultArgs } from './test-faults.js';

/** What {@link desiredWorkload} builds from. */
export interface WorkloadSource {
  readonly environment: string;
  /** The deployment's name: replicas serve the model under it. */
  readonly name: string;
  readonly revision: number;
  readonly spec: DeploymentSpec;
  readonly modelVersion: Pick<ModelVersion, 'version' | 'artifact'> & { readonly labels?: ModelVersion['labels'] };
  /** Local path of the artifact with this digest. */
  readonly artifactPath: string;
  readonly startupGraceMs?: number;
  /** Honour the test-only fault labels of the model version (`test-faults.ts`); off unless set. */
  readonly testFaults?: boolean;
}

/**
 * The workload for a model revision: the spec's replicas and resources, readiness on the spec's
 * health-check path, liveness on the model server's live endpoint, both with the spec's timing.
 */
export function desiredWorkload(source: WorkloadSource): Workload {
  const { key, replicas, ...rest } = baseWorkload(source, MODEL_PROBE_PATHS);
  const env = plainEnv(source.spec.configuration.env);
  return {
    key,
    replicas,
    model: {
      name: source.name,
      version: source.modelVersion.version,
      artifactPath: source.artifactPath,
      digest: source.modelVersion.artifact.digest,
      ...faultArgs(source.modelVersion.labels, source.testFaults === true),
    },
    ...(Object.keys(env).length === 0 ? {} : { env }),
    ...rest,
  };
}
