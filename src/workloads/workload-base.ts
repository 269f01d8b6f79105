/**
 * What every workload kind builds the same way from a deployment revision: its runtime key, its
 * replicas and resources, autoscaling for engines that scale themselves, and probes and
 * dependency checks from the spec's health check (on the kind's default paths where the spec names
 * none). A kind adds only what it runs (a model, an image). Pure.
 */
import type { DeploymentSpec } from '../core/resources.js';
import { autoscaled } from '../core/autoscaling/scaling-spec.js';
import { parseHostPort } from '../core/health-check-spec.js';
import { secretEnvRefs } from '../core/env-spec.js';
import type { DependencySpec, ProbeSpec, StartupProbeSpec, Workload, WorkloadKey } from '../runtime/runtime.js';

/**
 * Defaults of the built workload's probes. A starting replica is probed every 20 ms (cheap:
 * one local HTTP GET, refused until it listens) so that it takes traffic within 20 ms of being able to — what makes scale-up
 * and scale-from-zero fast — and has `startupTimeout` (default 300 s) to pass once.
 */
export const WORKLOAD_DEFAULTS = { startupGraceMs: 60_000, startupIntervalMs: 20, startupTimeoutSeconds: 300 } as const;

/** The runtime key of revision `revision` of the deployment `name` in `environment`. */
export function workloadKeyOf(deployment: { environment: string; name: string }, revision: number): WorkloadKey {
  return { environment: deployment.environment, deployment: deployment.name, revision };
}

/** Probe paths a kind's replicas answer when the spec names none. */
export interface ProbePaths {
  readonly readiness: string;
  readonly liveness: string;
}

/** The kind-independent part of a revision's workload. */
export type BaseWorkload = Omit<Workload, 'model' | 'image' | 'command' | 'env'>;

/**
 * The workload of revision `revision` without what it runs: the spec's replicas and resources,
 * readiness on the spec's health-check path, liveness on `livenessPath` or the kind's, both with
 * the spec's timing.
 */
export function baseWorkload(
  source: { environment: string; name: string; revision: number; spec: DeploymentSpec; startupGraceMs?: number },
  paths: ProbePaths,
): BaseWorkload {
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
    path: check.path || paths.readiness,
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
  // References only (secret, key, pinned version): the engine reads the values when a replica starts.
  const secretEnv = secretEnvRefs(spec.configuration.env);
  return {
    key: workloadKeyOf(source, source.revision),
    replicas: spec.configuration.replicas,
    resources: { cpu, memory, gpu, ...(limits === undefined ? {} : { limits: { ...limits } }) },
    // Only an autoscaled spec (max above min) carries scaling: engines that autoscale (Kubernetes:
    // an HPA) act on it, and a plain spec's workload stays exactly what it was before.
    // Only the HPA's fields, with min at least 1 (an HPA cannot go to zero without a feature gate).
    ...(autoscaled(spec.configuration.scaling) ? { scaling: hpaScaling(spec.configuration.scaling) } : {}),
    readiness: probe(check.path || paths.readiness),
    liveness: probe(check.livenessPath ?? paths.liveness),
    startup,
    ...(dependencies.length === 0 ? {} : { dependencies }),
    ...(Object.keys(secretEnv).length === 0 ? {} : { secretEnv }),
  };
}

function hpaScaling(s: DeploymentSpec['configuration']['scaling']): NonNullable<Workload['scaling']> {
  return { min: Math.max(1, s.min), max: Math.max(1, s.max), targetCPU: s.targetCPU, targetMemory: s.targetMemory };
}
