/**
 * The parts every container of a Wharf pod is made of, whatever it runs (a model server, an
 * application, a worker, an init container): environment with secret references, requests and
 * limits, HTTP and exec probes, the restricted security context and the pull-token variable.
 * Pure.
 */
import type { Container, EnvVar, Probe, ResourceRequirements } from 'kubernetes-types/core/v1.js';
import type { ProbeSpec, StartupProbeSpec, Workload } from '../runtime.js';
import type { ResolvedManifestOptions } from './manifest-options.js';

/** The variable `wharf fetch-artifact` reads its bearer token from. */
export const PULL_TOKEN_ENV = 'WHARF_PULL_TOKEN';
/** The key of the pull-token Secret that holds the token. */
export const PULL_TOKEN_SECRET_KEY = 'token';

/**
 * The Kubernetes Secret that holds version `version` of the Wharf secret `secret` (written by the
 * Kubernetes runtime, never changed: a new version is a new Secret); without a version (exports),
 * a Secret of the secret's own name that the cluster's operators provide.
 */
export function kubeSecretName(secret: string, version?: number): string {
  return version === undefined ? secret : `${secret}-v${version}`;
}

/**
 * The container environment: the workload's `env`, `PORT` when the container listens on one
 * (`$(PORT)` in the command is Kubernetes' own expansion of it), Wharf's identification
 * variables, then the secret-backed variables by `secretKeyRef` (never a value). Sorted, so the
 * same workload renders the same list.
 */
export function containerEnv(w: Workload, port: number | undefined): EnvVar[] {
  const plain = Object.entries({
    ...w.env,
    ...(port === undefined ? {} : { PORT: String(port) }),
    WHARF_DEPLOYMENT: w.key.deployment,
    WHARF_REVISION: String(w.key.revision),
  })
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([name, value]) => ({ name, value }));
  const secret = Object.entries(w.secretEnv ?? {})
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([name, ref]) => ({
      name,
      valueFrom: { secretKeyRef: { name: kubeSecretName(ref.secret, ref.version), key: ref.key } },
    }));
  return [...plain, ...secret];
}

/** The init container's pull token from its Secret, when the registry needs one. */
export function pullTokenEnv(o: ResolvedManifestOptions): Pick<Container, 'env'> {
  if (o.pullTokenSecret === '') return {};
  return {
    env: [
      { name: PULL_TOKEN_ENV, valueFrom: { secretKeyRef: { name: o.pullTokenSecret, key: PULL_TOKEN_SECRET_KEY } } },
    ],
  };
}

/** What an init container that downloads may use: small, and bounded. */
export const INIT_RESOURCES: ResourceRequirements = {
  requests: { cpu: '100m', memory: '64Mi' },
  limits: { memory: '256Mi' },
};

/**
 * Requests and limits: cpu is requested and limited only when `limits.cpu` asks (limits throttle
 * latency-sensitive servers); memory is capped at `limits.memory`, else at the request.
 */
export function containerResources(w: Workload): ResourceRequirements {
  const r = w.resources ?? {};
  const requests: Record<string, string> = {};
  const limits: Record<string, string> = {};
  if (r.cpu) requests.cpu = r.cpu;
  if (r.memory) requests.memory = limits.memory = r.memory;
  if (r.limits?.cpu) limits.cpu = r.limits.cpu;
  if (r.limits?.memory) limits.memory = r.limits.memory;
  if (r.gpu) requests['nvidia.com/gpu'] = limits['nvidia.com/gpu'] = String(r.gpu);
  return { ...(Object.keys(requests).length ? { requests } : {}), ...(Object.keys(limits).length ? { limits } : {}) };
}

/** Readiness, liveness and startup probes over HTTP on the container's `http` port. */
export function httpProbes(
  w: Workload,
  defaults: { readiness: string; liveness: string },
): Pick<Container, 'readinessProbe' | 'livenessProbe' | 'startupProbe'> {
  const readiness = timing(w.readiness, { httpGet: { path: w.readiness.path || defaults.readiness, port: 'http' } });
  const liveness = timing(w.liveness, { httpGet: { path: w.liveness.path || defaults.liveness, port: 'http' } });
  if (w.startup)
    return {
      readinessProbe: readiness,
      livenessProbe: liveness,
      startupProbe: startupProbe(w.startup, {
        httpGet: { path: w.startup.path || readiness.httpGet!.path!, port: 'http' },
      }),
    };
  return { readinessProbe: readiness, livenessProbe: liveness, startupProbe: graceProbe(w, liveness) };
}

/**
 * A worker's probes: none over HTTP (it listens on no port, and a container without a readiness
 * probe is ready while it runs); with a `healthCommand`, an exec liveness probe on the liveness
 * timing, held off by a startup probe of the same command for the startup time.
 */
export function execProbes(w: Workload): Pick<Container, 'livenessProbe' | 'startupProbe'> {
  if (!w.healthCommand) return {};
  const action = { exec: { command: [...w.healthCommand.argv] } };
  const liveness = timing(w.liveness, action);
  if (w.startup) return { livenessProbe: liveness, startupProbe: startupProbe(w.startup, action) };
  return { livenessProbe: liveness, startupProbe: graceProbe(w, liveness) };
}

/** Without a startup spec, a startup probe holds liveness off for `startupGraceMs`, in periods. */
function graceProbe(w: Workload, liveness: Probe): Probe {
  const period = liveness.periodSeconds ?? 1;
  return { ...liveness, failureThreshold: Math.max(1, Math.ceil(w.liveness.startupGraceMs / 1000 / period)) };
}

/**
 * The workload's startup probe. Kubernetes probes at most once a second, so a shorter interval
 * becomes 1 s, and the failure threshold is the timeout in those periods: the pod gets the same
 * `timeoutMs` to start, whatever the rounding of the period.
 */
function startupProbe(s: StartupProbeSpec, action: Pick<Probe, 'httpGet' | 'exec'>): Probe {
  const periodSeconds = Math.max(1, Math.round(s.intervalMs / 1000));
  return {
    ...action,
    periodSeconds,
    timeoutSeconds: Math.max(1, Math.round(s.probeTimeoutMs / 1000)),
    failureThreshold: Math.max(1, Math.ceil(s.timeoutMs / (periodSeconds * 1000))),
  };
}

function timing(p: ProbeSpec, action: Pick<Probe, 'httpGet' | 'exec'>): Probe {
  return {
    ...action,
    periodSeconds: Math.max(1, Math.round(p.intervalMs / 1000)),
    timeoutSeconds: Math.max(1, Math.round(p.timeoutMs / 1000)),
    failureThreshold: p.retries,
  };
}

/** No privilege escalation, a read-only root filesystem, no capabilities. */
export function restricted(): Container['securityContext'] {
  return { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } };
}
