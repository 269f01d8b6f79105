/**
 * The Kubernetes runtime: each revision is a Deployment (plus Service, ConfigMap, optional HPA)
 * and each deployment has its ServiceAccount, PodDisruptionBudget and NetworkPolicy, all written
 * with server-side apply (field manager `wharf`) into the environment's namespace. The objects are
 * rendered by the pure renderers in `../manifests/`; this file decides when to send them.
 *
 * - `apply` is skipped entirely (no request but one GET) when the revision's Deployment already
 *   carries the hash of what would be sent: applying the same revision twice sends no change.
 * - `observe` / `list` read Deployments and Pods (see `pod-status.ts` for the mapping).
 * - `remove` deletes by the ownership and revision labels, then waits (list + watch) until the
 *   pods are gone; the deployment's shared objects go with its last revision.
 * - `close` releases nothing on the cluster: model servers keep running while the control plane
 *   restarts or is upgraded (the data plane never depends on the control plane being up).
 *
 * @example
 *   const client = new KubeClient(loadKubeConfig({ context: 'prod' }));
 *   const runtime = new KubernetesRuntime({ client, manifests: { registryUrl: 'http://wharf.wharf-system:8080' } });
 *   await runtime.apply(workload);
 */
import { NotFoundError, UnavailableError } from '../../core/errors.js';
import {
  deploymentLabels,
  LABELS,
  revisionName,
  revisionSelector,
  selectorString,
  SPEC_HASH_ANNOTATION,
} from '../manifests/labels.js';
import { resolveManifestOptions, type ResolvedManifestOptions } from '../manifests/manifest-options.js';
import { renderWorkload } from '../manifests/render.js';
import { validateWorkload } from '../local/workload-spec.js';
import {
  type LogLine,
  type LogOptions,
  type Runtime,
  type RuntimeCapabilities,
  type Workload,
  type WorkloadKey,
  workloadKeyString,
  type WorkloadStatus,
} from '../runtime.js';
import type { KubeItem } from './kube-client.js';
import {
  type KubernetesRuntimeOptions,
  resolveKubernetesOptions,
  type ResolvedKubernetesOptions,
} from './kubernetes-options.js';
import { podLogLines } from './pod-logs.js';
import { type PodLike, workloadStatus } from './pod-status.js';
import { waitUntilNoPods } from './wait-gone.js';
import { KeyedSerial } from '../keyed-serial.js';

export type { KubernetesRuntimeOptions } from './kubernetes-options.js';

/** Kinds of a revision's objects, deleted on remove (the Deployment first, so no pod is recreated). */
const REVISION_KINDS = [
  ['apps/v1', 'Deployment'],
  ['autoscaling/v2', 'HorizontalPodAutoscaler'],
  ['v1', 'Service'],
  ['v1', 'ConfigMap'],
] as const;
/** Kinds of a deployment's shared objects, deleted with its last revision. */
const SHARED_KINDS = [
  ['policy/v1', 'PodDisruptionBudget'],
  ['networking.k8s.io/v1', 'NetworkPolicy'],
  ['v1', 'ServiceAccount'],
] as const;

/** See the module comment. */
export class KubernetesRuntime implements Runtime {
  readonly name = 'kubernetes';
  readonly capabilities: RuntimeCapabilities = {
    logs: true,
    followLogs: true,
    resourceLimits: true,
    gpu: true,
    usage: false,
    changeNotifications: false,
  };
  private readonly o: ResolvedKubernetesOptions;
  private readonly manifests: ResolvedManifestOptions;
  private readonly owner: string;
  private readonly serial = new KeyedSerial();
  private closed = false;

  constructor(options: KubernetesRuntimeOptions) {
    this.o = resolveKubernetesOptions(options);
    this.manifests = resolveManifestOptions(options.manifests);
    this.owner = this.manifests.owner;
  }

  /** The namespace of `environment`'s workloads. */
  namespaceOf(environment: string): string {
    return this.o.namespaceOf(environment);
  }

  async apply(workload: Workload): Promise<void> {
    this.ready();
    validateWorkload(workload);
    const namespace = this.o.namespaceOf(workload.key.environment);
    const rendered = renderWorkload(workload, this.manifests, namespace);
    await this.serial.run(workloadKeyString(workload.key), async () => {
      const current = await this.o.client.get('apps/v1', 'Deployment', namespace, revisionName(workload.key));
      // Same hash: everything was applied before. A replica count changed by hand (kubectl
      // scale) is drift the hash cannot see, so it is compared too (unless an HPA owns it).
      const replicas = (current?.spec as { replicas?: number } | undefined)?.replicas;
      const autoscaled = rendered.revision.some((o) => o.kind === 'HorizontalPodAutoscaler');
      if (
        current?.metadata?.annotations?.[SPEC_HASH_ANNOTATION] === rendered.hash &&
        (autoscaled || replicas === workload.replicas)
      )
        return;
      for (const object of [...rendered.shared, ...rendered.revision]) await this.o.client.apply(object);
      if (!autoscaled) {
        await this.o.client.delete('autoscaling/v2', 'HorizontalPodAutoscaler', namespace, revisionName(workload.key));
      }
    });
  }

  async observe(key: WorkloadKey): Promise<WorkloadStatus | undefined> {
    this.ready();
    const namespace = this.o.namespaceOf(key.environment);
    const deployment = await this.o.client.get('apps/v1', 'Deployment', namespace, revisionName(key));
    if (!deployment || deployment.metadata?.labels?.[LABELS.owner] !== this.owner) return undefined;
    const pods = await this.o.client.list('v1', 'Pod', namespace, selectorString(revisionSelector(key, this.owner)));
    return this.statusOf(key, deployment, pods.items);
  }

  async list(): Promise<WorkloadStatus[]> {
    this.ready();
    const owned = `${LABELS.owner}=${this.owner}`;
    const [deployments, pods] = await Promise.all([
      this.o.client.list('apps/v1', 'Deployment', undefined, owned),
      this.o.client.list('v1', 'Pod', undefined, owned),
    ]);
    const out: WorkloadStatus[] = [];
    for (const d of deployments.items) {
      const key = keyOf(d);
      if (!key) continue;
      const ns = d.metadata?.namespace;
      const mine = pods.items.filter(
        (p) => p.metadata?.namespace === ns && matches(p, revisionSelector(key, this.owner)),
      );
      out.push(this.statusOf(key, d, mine));
    }
    return out;
  }

  async remove(key: WorkloadKey): Promise<void> {
    this.ready();
    const namespace = this.o.namespaceOf(key.environment);
    await this.serial.run(workloadKeyString(key), async () => {
      const selector = selectorString(revisionSelector(key, this.owner));
      for (const [apiVersion, kind] of REVISION_KINDS) await this.deleteMatching(apiVersion, kind, namespace, selector);
      await waitUntilNoPods(this.o.client, namespace, selector, {
        timeoutMs: this.o.removeTimeoutMs,
        rewatchDelayMs: this.o.rewatchDelayMs,
      });
      const deployment = selectorString(deploymentLabels(key, this.owner));
      const others = await this.o.client.list('apps/v1', 'Deployment', namespace, deployment);
      if (others.items.length > 0) return;
      for (const [apiVersion, kind] of SHARED_KINDS)
        await this.deleteMatching(apiVersion, kind, namespace, `${deployment},!${LABELS.revision}`);
    });
  }

  /**
   * Lines of the workload's pods (every line is `stdout`: the Pod log API merges the streams).
   * Throws NotFoundError for an unknown key or replica.
   */
  async *logs(key: WorkloadKey, options: LogOptions = {}): AsyncIterable<LogLine> {
    this.ready();
    const namespace = this.o.namespaceOf(key.environment);
    const deployment = await this.o.client.get('apps/v1', 'Deployment', namespace, revisionName(key));
    if (!deployment) throw new NotFoundError(`no workload ${workloadKeyString(key)}`);
    const pods = (
      await this.o.client.list('v1', 'Pod', namespace, selectorString(revisionSelector(key, this.owner)))
    ).items.filter((p) => options.replica === undefined || p.metadata?.name === options.replica);
    if (options.replica !== undefined && pods.length === 0)
      throw new NotFoundError(`workload ${workloadKeyString(key)} has no replica ${options.replica}`);
    const sources = pods.map((p) => ({ namespace, pod: p.metadata!.name!, container: mainContainer(p) }));
    yield* podLogLines(this.o.client, sources, options);
  }

  /** Stops accepting calls; nothing on the cluster changes (see the module comment). */
  async close(): Promise<void> {
    this.closed = true;
    await this.serial.idle();
  }

  private statusOf(key: WorkloadKey, deployment: KubeItem, pods: KubeItem[]): WorkloadStatus {
    const namespace = deployment.metadata?.namespace ?? this.o.namespaceOf(key.environment);
    const { port } = this.manifests;
    const service = `http://${revisionName(key)}.${namespace}.svc.${this.o.clusterDomain}`;
    const endpointOf = (pod: PodLike): string | undefined =>
      this.o.endpoints === 'service' ? service : `http://${pod.status!.podIP}:${port}`;
    return workloadStatus(key, deployment as never, pods as PodLike[], endpointOf, new Date().toISOString());
  }

  private async deleteMatching(apiVersion: string, kind: string, namespace: string, selector: string): Promise<void> {
    const { items } = await this.o.client.list(apiVersion, kind, namespace, selector);
    for (const item of items) await this.o.client.delete(apiVersion, kind, namespace, item.metadata!.name!);
  }

  private ready(): void {
    if (this.closed) throw new UnavailableError('the kubernetes runtime is closed');
  }
}

/** The workload key in a Deployment's labels, or undefined when they are not Wharf's. */
function keyOf(d: KubeItem): WorkloadKey | undefined {
  const l = d.metadata?.labels ?? {};
  const [environment, deployment, revision] = [l[LABELS.environment], l[LABELS.deployment], Number(l[LABELS.revision])];
  if (!environment || !deployment || !Number.isInteger(revision)) return undefined;
  return { environment, deployment, revision };
}

function matches(item: KubeItem, labels: Record<string, string>): boolean {
  return Object.entries(labels).every(([k, v]) => item.metadata?.labels?.[k] === v);
}

function mainContainer(pod: KubeItem): string {
  return (pod.spec as { containers?: { name: string }[] } | undefined)?.containers?.[0]?.name ?? 'server';
}
