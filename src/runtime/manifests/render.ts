/**
 * Workload → Kubernetes objects. Pure: the same workload and options always render the same
 * objects, byte for byte, which is what makes "apply the same revision twice: no change" checkable
 * with one hash.
 *
 * Per revision: a Deployment, a Service (the gateway routes to revision Services), a ConfigMap
 * with what the revision runs and, when the workload autoscales, a HorizontalPodAutoscaler (one per
 * revision, so each revision of a canary scales on its own). Per deployment, shared by its
 * revisions: a ServiceAccount, a PodDisruptionBudget and a NetworkPolicy admitting only the
 * gateway (and optionally a Gateway API HTTPRoute, see `http-route.ts`).
 *
 * A worker (`serves: 'none'`) gets no Service (it has no endpoint) and no HPA: its replicas are
 * what the control plane's autoscaler decides (from queue depth), which an HPA would fight; its
 * NetworkPolicy admits nothing.
 *
 * @example
 *   const { revision, shared, hash } = renderWorkload(workload, { registryUrl: 'http://wharf:8080' }, 'wharf-production');
 */
import { createHash } from 'node:crypto';
import type { Deployment } from 'kubernetes-types/apps/v1.js';
import type { HorizontalPodAutoscaler } from 'kubernetes-types/autoscaling/v2.js';
import type { ConfigMap, Service, ServiceAccount } from 'kubernetes-types/core/v1.js';
import type { NetworkPolicy } from 'kubernetes-types/networking/v1.js';
import type { PodDisruptionBudget } from 'kubernetes-types/policy/v1.js';
import type { Workload, WorkloadKey } from '../runtime.js';
import {
  deploymentLabels,
  dnsLabel,
  GATEWAY_POD_LABELS,
  LABELS,
  revisionLabels,
  revisionName,
  revisionSelector,
  SPEC_HASH_ANNOTATION,
} from './labels.js';
import { type ManifestOptions, resolveManifestOptions, type ResolvedManifestOptions } from './manifest-options.js';
import { podTemplate } from './pod-template.js';
import { isWorker } from './app-container.js';

/** Any object the renderers produce. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
}

/** What one workload renders to. */
export interface RenderedWorkload {
  /** Objects of this revision, the Deployment last (its hash annotation says "all applied"). */
  readonly revision: KubeObject[];
  /** Objects of the deployment, shared with its other revisions. */
  readonly shared: KubeObject[];
  /** sha256 of everything above; also the Deployment's `wharf.dev/spec-hash` annotation. */
  readonly hash: string;
}

/** Renders `w` into `namespace`. Throws InvalidArgumentError for options or a workload Kubernetes cannot run. */
export function renderWorkload(w: Workload, options: ManifestOptions, namespace: string): RenderedWorkload {
  const o = resolveManifestOptions(options);
  const shared = sharedObjects(w, o, namespace);
  const name = revisionName(w.key);
  const worker = isWorker(w);
  const component = w.model ? 'model-server' : worker ? 'worker' : 'application';
  const labels = { ...w.labels, ...revisionLabels(w.key, o.owner, { version: w.model?.version, component }) };
  const meta = (kindName = name): KubeObject['metadata'] => ({ name: kindName, namespace, labels: { ...labels } });
  const selector = revisionSelector(w.key, o.owner);

  const configMap: ConfigMap & KubeObject = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: meta(dnsLabel(`${name}-${w.model ? 'model' : 'app'}`)),
    data: {
      'workload.json': JSON.stringify(
        {
          environment: w.key.environment,
          deployment: w.key.deployment,
          revision: w.key.revision,
          ...(w.model
            ? { model: { name: w.model.name, version: w.model.version, digest: w.model.digest } }
            : {
                kind: component,
                ...(w.image ? { image: w.image } : {}),
                ...(w.bundle ? { bundle: { digest: w.bundle.digest } } : {}),
                ...(w.command ? { command: w.command.argv } : {}),
              }),
        },
        null,
        2,
      ),
    },
  };
  const service: (Service & KubeObject) | undefined = worker
    ? undefined
    : {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: meta(),
        spec: { type: 'ClusterIP', selector, ports: [{ name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' }] },
      };
  const autoscaled = !worker && w.scaling !== undefined && w.scaling.max > w.scaling.min;
  const hpa: (HorizontalPodAutoscaler & KubeObject) | undefined = autoscaled
    ? {
        apiVersion: 'autoscaling/v2',
        kind: 'HorizontalPodAutoscaler',
        metadata: meta(),
        spec: {
          scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name },
          minReplicas: Math.max(1, w.scaling!.min),
          maxReplicas: w.scaling!.max,
          metrics: [
            {
              type: 'Resource',
              resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: w.scaling!.targetCPU } },
            },
            {
              type: 'Resource',
              resource: {
                name: 'memory',
                target: { type: 'Utilization', averageUtilization: w.scaling!.targetMemory },
              },
            },
          ],
        },
      }
    : undefined;
  const deployment: Deployment & KubeObject = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: meta(),
    spec: {
      // An autoscaled Deployment leaves `replicas` to the HPA: applying it would fight the HPA.
      ...(autoscaled ? {} : { replicas: w.replicas }),
      selector: { matchLabels: selector },
      revisionHistoryLimit: 2,
      // A revision's pods never change spec (a change is a new revision), so this only matters
      // for scaling and node drains: never drop below the desired count while replacing a pod.
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
      template: podTemplate(w, { ...labels }, shared.serviceAccount, o),
    },
  };
  const revision: KubeObject[] = [configMap, ...(service ? [service] : []), ...(hpa ? [hpa] : []), deployment];
  const hash = `sha256:${createHash('sha256')
    .update(JSON.stringify([shared.objects, revision]))
    .digest('hex')}`;
  deployment.metadata.annotations = { [SPEC_HASH_ANNOTATION]: hash };
  // A JSON copy: no object is shared between two places (YAML would print anchors and aliases).
  const copy = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;
  return { revision: copy(revision), shared: copy(shared.objects), hash };
}

function sharedObjects(
  w: Workload,
  o: ResolvedManifestOptions,
  namespace: string,
): { objects: KubeObject[]; serviceAccount: string } {
  const key: WorkloadKey = w.key;
  const name = dnsLabel(key.deployment);
  const labels = deploymentLabels(key, o.owner);
  const metadata = (): KubeObject['metadata'] => ({ name, namespace, labels: { ...labels } });
  const pods = {
    [LABELS.environment]: labels[LABELS.environment]!,
    [LABELS.deployment]: labels[LABELS.deployment]!,
    [LABELS.owner]: labels[LABELS.owner]!,
  };
  const serviceAccount: ServiceAccount & KubeObject = {
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: metadata(),
    automountServiceAccountToken: false,
  };
  const pdb: PodDisruptionBudget & KubeObject = {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: metadata(),
    spec: { maxUnavailable: 1, selector: { matchLabels: pods } },
  };
  const networkPolicy: NetworkPolicy & KubeObject = {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: metadata(),
    spec: {
      podSelector: { matchLabels: pods },
      policyTypes: ['Ingress'],
      // Only the gateway (in any namespace) reaches model servers and applications; scrapers go
      // through the gateway. A worker listens on nothing: no ingress at all.
      ingress: isWorker(w)
        ? []
        : [
            {
              from: [{ namespaceSelector: {}, podSelector: { matchLabels: { ...GATEWAY_POD_LABELS } } }],
              ports: [{ port: 'http', protocol: 'TCP' }],
            },
          ],
    },
  };
  return { objects: [serviceAccount, pdb, networkPolicy], serviceAccount: name };
}
