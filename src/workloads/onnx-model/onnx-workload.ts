/**
 * The runtime workload of one revision of a deployment. Pure: the same revision always yields the
 * same workload (engines refuse a changed spec under a running key, and an idempotent `apply` is
 * what lets a restarted controller adopt the replicas it finds instead of doubling them).
 */
import type { DeploymentSpec, ModelVersion } from '../../core/resources.js';
import { autoscaled } from '../../core/autoscaling/scaling-spec.js';
import { parseHostPort } from '../../core/health-check-spec.js';
import type { DependencySpec, ProbeSpec, StartupProbeSpec, Workload, WorkloadKey } from '../../runtime/runtime.js';

/** Probe paths of the model server besides the spec's readiness path. */
export const MODEL_PROBE_PATHS = { readiness: '/v2/health/ready', liveness: '/v2/health/live' } as const;

/**
 * TEST ONLY: model-version labels that make every replica of a revision misbehave on purpose, for
 * rollout tests and benchmarks (a bad canary): `--inject-error-rate` and `--inject-latency-ms` of
 * `wharf serve-model`. Never set them on a real model.
 */
export const FAULT_LABELS = {
  errorRate: 'wharf.dev/test-fault-error-rate',
  latencyMs: 'wharf.dev/test-fault-latency-ms',
  /** A directory: a replica fails every inference while `<dir>/<replica id>` exists. */
  faultDir: 'wharf.dev/test-fault-dir',
} as const;

/**
 * Defaults of {@link desiredWorkload}'s options. A starting replica is probed every 20 ms (cheap:
 * one local HTTP GET, refused until it listens) so that it takes traffic within 20 ms of being able to — what makes scale-up
 * and scale-from-zero fast — and has `startupTimeout` (default 300 s) to pass once.
 */
export const WORKLOAD_DEFAULTS = { startupGraceMs: 60_000, startupIntervalMs: 20, startupTimeoutSeconds: 300 } as const;

/** The runtime key of revision `revision` of the deployment `name` in `environment`. */
export function workloadKeyOf(deployment: { environment: string; name: string }, revision: number): WorkloadKey {
  return { environment: deployment.environment, deployment: deployment.name, revision };
}

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
}

/**
 * The workload for a model revision: the spec's replicas and resources, readiness on the spec's
 * health-check path, liveness on the model server's live endpoint, both with the spec's timing.
 */
export function desiredWorkload(source: WorkloadSource): Workload {
  const { spec } = source;
  const check = spec.configuration.healthCheck;
  const probe = (path: string): ProbeSpec => ({
    path,
    intervalMs: Math.round(check.interval * 1000),
    timeoutMs: Math.round(check.timeout * 1000),
    retries: check.retries,
    startupGraceMs: source.startupGraceMs ?? WORKLOAD_DEFAULTS.startupGraceMs,
  });
  const startup: StartupProbeSpec = {
    path: check.path || MODEL_PROBE_PATHS.readiness,
    intervalMs: WORKLOAD_DEFAULTS.startupIntervalMs,
    probeTimeoutMs: Math.round(check.timeout * 1000),
    timeoutMs: Math.round((check.startupTimeout ?? WORKLOAD_DEFAULTS.startupTimeoutSeconds) * 1000),
  };
  const dependencies = (check.dependencies ?? []).map((d): DependencySpec => ({
    name: d.name,
    ...(d.http !== undefined ? { http: { url: d.http } } : { tcp: parseHostPort(d.tcp)! }),
    intervalMs: Math.round((d.interval ?? check.interval) * 1000),
    timeoutMs: Math.round((d.timeout ?? check.timeout) * 1000),
    retries: check.retries,
  }));
  const { cpu, memory, gpu, limits } = spec.configuration.resources;
  return {
    key: workloadKeyOf(source, source.revision),
    replicas: spec.configuration.replicas,
    model: {
      name: source.name,
      version: source.modelVersion.version,
      artifactPath: source.artifactPath,
      digest: source.modelVersion.artifact.digest,
      ...faultArgs(source.modelVersion.labels),
    },
    resources: { cpu, memory, gpu, ...(limits === undefined ? {} : { limits: { ...limits } }) },
    // Only an autoscaled spec (max above min) carries scaling: engines that autoscale (Kubernetes:
    // an HPA) act on it, and a plain spec's workload stays exactly what it was before.
    // Only the HPA's fields, with min at least 1 (an HPA cannot go to zero without a feature gate).
    ...(autoscaled(spec.configuration.scaling) ? { scaling: hpaScaling(spec.configuration.scaling) } : {}),
    readiness: probe(check.path || MODEL_PROBE_PATHS.readiness),
    liveness: probe(check.livenessPath ?? MODEL_PROBE_PATHS.liveness),
    startup,
    ...(dependencies.length === 0 ? {} : { dependencies }),
  };
}

function hpaScaling(s: DeploymentSpec['configuration']['scaling']): NonNullable<Workload['scaling']> {
  return { min: Math.max(1, s.min), max: Math.max(1, s.max), targetCPU: s.targetCPU, targetMemory: s.targetMemory };
}

function faultArgs(labels: ModelVersion['labels'] | undefined): { serverArgs?: string[] } {
  const args: string[] = [];
  const errorRate = labels?.[FAULT_LABELS.errorRate];
  const latency = labels?.[FAULT_LABELS.latencyMs];
  if (errorRate !== undefined) args.push('--inject-error-rate', errorRate);
  if (latency !== undefined) args.push('--inject-latency-ms', latency);
  const dir = labels?.[FAULT_LABELS.faultDir];
  if (dir !== undefined) args.push('--inject-fault-file', `${dir}/{replica}`);
  return args.length === 0 ? {} : { serverArgs: args };
}
