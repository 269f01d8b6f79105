/**
 * The pod of one revision. Pure.
 *
 * A model pod has two containers from the Wharf image: the init container `fetch-artifact`
 * downloads the artifact from the registry by digest into an emptyDir and verifies its sha256 (a
 * pod never serves bytes other than the version's), then `serve-model` loads it. An application pod
 * runs the workload's image and command with `$PORT` set. Both get probes from the workload
 * (`startup` → a `startupProbe`), requests and limits from `resources` (gpu → `nvidia.com/gpu`),
 * and a `preStop` delay so the endpoints controller removes the pod from Services before the
 * server starts draining.
 *
 * Not mapped: `dependencies`. Kubernetes has no per-workload dependency check that takes pods out
 * of rotation; folding them into the readiness probe would need the server's cooperation, so on
 * Kubernetes they are ignored (the local runtime checks them).
 */
import type { Container, EnvVar, PodTemplateSpec, Probe, ResourceRequirements } from 'kubernetes-types/core/v1.js';
import { InvalidArgumentError } from '../../core/errors.js';
import { MODEL_PROBE_PATHS } from '../../protocol/oip-paths.js';
import type { ProbeSpec, StartupProbeSpec, Workload } from '../runtime.js';
import type { ResolvedManifestOptions } from './manifest-options.js';

/** Where the artifact is written inside the pod. */
export const MODEL_MOUNT = '/models';
/** The artifact's path inside the pod. */
export const MODEL_FILE = `${MODEL_MOUNT}/model.onnx`;

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

/** The pod template of `w` with `labels` (which include the Deployment's selector). */
export function podTemplate(
  w: Workload,
  labels: Record<string, string>,
  serviceAccount: string,
  o: ResolvedManifestOptions,
): PodTemplateSpec {
  const main = w.model ? modelContainer(w, o) : applicationContainer(w, o);
  return {
    metadata: { labels },
    spec: {
      serviceAccountName: serviceAccount,
      automountServiceAccountToken: false,
      enableServiceLinks: false,
      terminationGracePeriodSeconds: o.preStopSeconds + o.drainSeconds + 5,
      securityContext: {
        runAsNonRoot: true,
        runAsUser: 10001,
        runAsGroup: 10001,
        fsGroup: 10001,
        seccompProfile: { type: 'RuntimeDefault' },
      },
      ...(w.model ? { initContainers: [fetchContainer(w, o)] } : {}),
      containers: [main],
      // The root filesystem is read-only; scratch space for the server (and the model) is an emptyDir.
      volumes: [...(w.model ? [{ name: 'models', emptyDir: {} }] : []), { name: 'tmp', emptyDir: {} }],
    },
  };
}

function modelContainer(w: Workload, o: ResolvedManifestOptions): Container {
  const m = w.model!;
  return {
    ...common(w, o, 'server'),
    image: o.image,
    command: [
      'wharf',
      'serve-model',
      '--model',
      MODEL_FILE,
      '--name',
      w.key.deployment,
      '--version',
      m.version,
      '--host',
      '0.0.0.0',
      '--port',
      String(o.port),
      '--grace-period',
      String(o.drainSeconds),
      ...(m.serverArgs ?? []),
    ],
    volumeMounts: [
      { name: 'models', mountPath: MODEL_MOUNT, readOnly: true },
      { name: 'tmp', mountPath: '/tmp' },
    ],
    ...probes(w, MODEL_PROBE_PATHS),
  };
}

function fetchContainer(w: Workload, o: ResolvedManifestOptions): Container {
  const m = w.model!;
  return {
    name: 'fetch-artifact',
    image: o.image,
    command: [
      'wharf',
      'fetch-artifact',
      '--url',
      `${o.registryUrl.replace(/\/+$/, '')}/api/v1/blobs/${m.digest}`,
      '--digest',
      m.digest,
      '--out',
      MODEL_FILE,
    ],
    ...(o.pullTokenSecret === ''
      ? {}
      : {
          env: [
            {
              name: PULL_TOKEN_ENV,
              valueFrom: { secretKeyRef: { name: o.pullTokenSecret, key: PULL_TOKEN_SECRET_KEY } },
            },
          ],
        }),
    volumeMounts: [{ name: 'models', mountPath: MODEL_MOUNT }],
    resources: { requests: { cpu: '100m', memory: '64Mi' }, limits: { memory: '256Mi' } },
    securityContext: restricted(),
  };
}

function applicationContainer(w: Workload, o: ResolvedManifestOptions): Container {
  if (!w.image)
    throw new InvalidArgumentError(
      `workload ${w.key.deployment}: image: required for an application on the kubernetes runtime`,
    );
  return {
    ...common(w, o, 'app'),
    image: w.image,
    ...(w.command ? { command: [...w.command.argv] } : {}),
    volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
    ...probes(w, { readiness: '', liveness: '' }),
  };
}

/** What every main container has: name, port, env, resources, preStop, security context. */
function common(w: Workload, o: ResolvedManifestOptions, name: string): Container {
  return {
    name,
    image: '',
    ports: [{ name: 'http', containerPort: o.port, protocol: 'TCP' }],
    env: env(w, o),
    resources: resources(w),
    lifecycle: { preStop: { exec: { command: ['sleep', String(o.preStopSeconds)] } } },
    securityContext: restricted(),
  };
}

function env(w: Workload, o: ResolvedManifestOptions): EnvVar[] {
  const plain = Object.entries({
    ...w.env,
    PORT: String(o.port),
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

/**
 * Requests and limits: cpu is requested and limited only when `limits.cpu` asks (limits throttle
 * latency-sensitive servers); memory is capped at `limits.memory`, else at the request.
 */
function resources(w: Workload): ResourceRequirements {
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

function probes(
  w: Workload,
  defaults: { readiness: string; liveness: string },
): Pick<Container, 'readinessProbe' | 'livenessProbe' | 'startupProbe'> {
  const readiness = probe(w.readiness, w.readiness.path || defaults.readiness);
  const liveness = probe(w.liveness, w.liveness.path || defaults.liveness);
  if (w.startup)
    return {
      readinessProbe: readiness,
      livenessProbe: liveness,
      startupProbe: startupProbe(w.startup, w.startup.path || readiness.httpGet!.path!),
    };
  // Without one, the startup probe holds liveness off while a large model loads: startupGraceMs in periods.
  const period = liveness.periodSeconds ?? 1;
  const startup: Probe = {
    ...liveness,
    failureThreshold: Math.max(1, Math.ceil(w.liveness.startupGraceMs / 1000 / period)),
  };
  return { readinessProbe: readiness, livenessProbe: liveness, startupProbe: startup };
}

/**
 * The workload's startup probe. Kubernetes probes at most once a second, so a shorter interval
 * becomes 1 s, and the failure threshold is the timeout in those periods: the pod gets the same
 * `timeoutMs` to start, whatever the rounding of the period.
 */
function startupProbe(s: StartupProbeSpec, path: string): Probe {
  const periodSeconds = Math.max(1, Math.round(s.intervalMs / 1000));
  return {
    httpGet: { path, port: 'http' },
    periodSeconds,
    timeoutSeconds: Math.max(1, Math.round(s.probeTimeoutMs / 1000)),
    failureThreshold: Math.max(1, Math.ceil(s.timeoutMs / (periodSeconds * 1000))),
  };
}

function probe(p: ProbeSpec, path: string): Probe {
  return {
    httpGet: { path, port: 'http' },
    periodSeconds: Math.max(1, Math.round(p.intervalMs / 1000)),
    timeoutSeconds: Math.max(1, Math.round(p.timeoutMs / 1000)),
    failureThreshold: p.retries,
  };
}

function restricted(): Container['securityContext'] {
  return { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } };
}
