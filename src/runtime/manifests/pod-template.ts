/**
 * The pod of one revision. Pure.
 *
 * A model pod has two containers from the Wharf image: the init container `fetch-artifact`
 * downloads the artifact from the registry by digest into an emptyDir and verifies its sha256 (a
 * pod never serves bytes other than the version's), then `serve-model` loads it. An application
 * or worker pod runs the workload's command in its image, or in the base image with its bundle
 * (see `app-container.ts`). Every main container gets probes from the workload (`startup` → a
 * `startupProbe`), requests and limits from `resources` (gpu → `nvidia.com/gpu`), and those that
 * serve HTTP a `preStop` delay so the endpoints controller removes the pod from Services before
 * the server starts draining.
 *
 * Not mapped: `dependencies`. Kubernetes has no per-workload dependency check that takes pods out
 * of rotation; folding them into the readiness probe would need the server's cooperation, so on
 * Kubernetes they are ignored (the local runtime checks them).
 */
import type { Container, PodTemplateSpec } from 'kubernetes-types/core/v1.js';
import { MODEL_PROBE_PATHS } from '../../protocol/oip-paths.js';
import type { Workload } from '../runtime.js';
import { bundleFetchContainer, commandContainer, commandGraceSeconds } from './app-container.js';
import {
  containerEnv,
  containerResources,
  httpProbes,
  INIT_RESOURCES,
  pullTokenEnv,
  restricted,
} from './container-parts.js';
import type { ResolvedManifestOptions } from './manifest-options.js';

export { kubeSecretName, PULL_TOKEN_ENV, PULL_TOKEN_SECRET_KEY } from './container-parts.js';

/** Where the artifact is written inside the pod. */
export const MODEL_MOUNT = '/models';
/** The artifact's path inside the pod. */
export const MODEL_FILE = `${MODEL_MOUNT}/model.onnx`;

/** The pod template of `w` with `labels` (which include the Deployment's selector). */
export function podTemplate(
  w: Workload,
  labels: Record<string, string>,
  serviceAccount: string,
  o: ResolvedManifestOptions,
): PodTemplateSpec {
  const main = w.model ? modelContainer(w, o) : commandContainer(w, o);
  const init = w.model ? [fetchContainer(w, o)] : w.bundle && !w.image ? [bundleFetchContainer(w, o)] : [];
  return {
    metadata: { labels },
    spec: {
      serviceAccountName: serviceAccount,
      automountServiceAccountToken: false,
      enableServiceLinks: false,
      terminationGracePeriodSeconds: w.model ? modelGraceSeconds(w, o) : commandGraceSeconds(w, o),
      securityContext: {
        runAsNonRoot: true,
        runAsUser: 10001,
        runAsGroup: 10001,
        fsGroup: 10001,
        seccompProfile: { type: 'RuntimeDefault' },
      },
      ...(init.length > 0 ? { initContainers: init } : {}),
      containers: [main],
      // The root filesystem is read-only; scratch space for the server (and the model or bundle) is an emptyDir.
      volumes: [
        ...(w.model ? [{ name: 'models', emptyDir: {} }] : []),
        ...(init.length > 0 && !w.model ? [{ name: 'bundle', emptyDir: {} }] : []),
        { name: 'tmp', emptyDir: {} },
      ],
    },
  };
}

/** preStop, then the server's drain, then 5 s to exit; or the workload's own grace after preStop. */
function modelGraceSeconds(w: Workload, o: ResolvedManifestOptions): number {
  if (w.terminationGracePeriodMs !== undefined) return o.preStopSeconds + Math.ceil(w.terminationGracePeriodMs / 1000);
  return o.preStopSeconds + o.drainSeconds + 5;
}

function modelContainer(w: Workload, o: ResolvedManifestOptions): Container {
  const m = w.model!;
  return {
    name: 'server',
    image: o.image,
    ports: [{ name: 'http', containerPort: o.port, protocol: 'TCP' }],
    env: containerEnv(w, o.port),
    resources: containerResources(w),
    lifecycle: { preStop: { exec: { command: ['sleep', String(o.preStopSeconds)] } } },
    securityContext: restricted(),
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
    ...httpProbes(w, MODEL_PROBE_PATHS),
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
    ...pullTokenEnv(o),
    volumeMounts: [{ name: 'models', mountPath: MODEL_MOUNT }],
    resources: INIT_RESOURCES,
    securityContext: restricted(),
  };
}
