/**
 * The Kubernetes engine behind {@link KubernetesRuntime} (`kubernetes-runtime.ts`): each revision is a Deployment (plus Service, ConfigMap, optional HPA)
 * and each deployment has its ServiceAccount, PodDisruptionBudget and NetworkPolicy, all written
 * with server-side apply (field manager `wharf`) into the environment's namespace. The objects are
 * rendered by the pure renderers in `../manifests/`; this file decides when to send them.
 *
 * - `apply` is skipped entirely (no request but one GET) when the revision's Deployment already
 *   carries the hash of what would be sent: applying the same revision twice sends no change.
 * - `observe` reads the revision's Deployment and Pods (see `pod-status.ts` for the mapping);
 *   `list` serves them from a list+watch cache of every owned Deployment and Pod
 *   (`workload-cache.ts`, started by the first list), narrowed by label; after its own writes the
 *   engine waits until the cache shows them, so a list right after an apply or remove sees it.
 * - `remove` deletes by the ownership and revision labels, then waits (list + watch) until the
 *   pods are gone; the deployment's shared objects go with its last revision.
 * - `close` releases nothing on the cluster: model servers keep running while the control plane
 *   restarts or is upgraded (the data plane never depends on the control plane being up); it
 *   stops the cache's watches.
 *
 * Reject-after-close and NotSupported are the lifecycle wrapper's (`../runtime-lifecycle.ts`).
 */
import { InvalidArgumentError, NotFoundError } from '../../core/errors.js';
import {
  deploymentLabels,
  LABELS,
  labelValue,
  revisionName,
  revisionSelector,
  selectorString,
  SPEC_HASH_ANNOTATION,
} from '../manifests/labels.js';
import { resolveManifestOptions, type ResolvedManifestOptions } from '../manifests/manifest-options.js';
import { type KubeObject, renderWorkload } from '../manifests/render.js';
import { renderVersionSecret } from '../manifests/secret-manifest.js';
import { PULL_TOKEN_SECRET } from '../manifests/pull-token-secret.js';
import { PullTokens } from './pull-tokens.js';
import { httpPort, validateKubernetesWorkload } from './workload-rules.js';
import {
  type LogLine,
  type LogOptions,
  type RuntimeCapabilities,
  selects,
  type Workload,
  type WorkloadKey,
  workloadKeyString,
  type WorkloadSelector,
  type WorkloadStatus,
} from '../runtime.js';
import type { RuntimeEngine } from '../runtime-lifecycle.js';
import type { KubeItem } from './kube-client.js';
import {
  type KubernetesRuntimeOptions,
  resolveKubernetesOptions,
  type ResolvedKubernetesOptions,
} from './kubernetes-options.js';
import { podLogLines } from './pod-logs.js';
import { type PodLike, workloadStatus } from './pod-status.js';
import { waitUntilNoPods } from './wait-gone.js';
import { WorkloadCache } from './workload-cache.js';
import { KeyedSerial } from '../keyed-serial.js';

/**
 * Longest an apply or remove waits for the list cache to show its own change. The change is made
 * either way; a cache that lags longer (a watch being re-established) shows it in a later list.
 */
const CACHE_CATCH_UP_MS = 5_000;

/** The recommended label whose value says what a revision's pods are (`model-server`, `application`, `worker`). */
const COMPONENT_LABEL = 'app.kubernetes.io/component';

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
export class KubernetesEngine implements RuntimeEngine {
  readonly name = 'kubernetes';
  readonly capabilities: RuntimeCapabilities = {
    logs: true,
    followLogs: true,
    resourceLimits: true,
    gpu: true,
    usage: false,
    changeNotifications: false,
    unsupportedFields: {
      dependencies:
        'Kubernetes has no per-workload dependency check that takes pods out of rotation (use a readiness path that checks them)',
    },
  };
  private readonly o: ResolvedKubernetesOptions;
  private readonly manifests: ResolvedManifestOptions;
  private readonly owner: string;
  private readonly serial = new KeyedSerial();
  /** The namespaces' pull-token Secrets, when the registry needs a credential. */
  private readonly pullTokens: PullTokens | undefined;
  /** The list cache, once the first `list` started it. */
  private cache: Promise<WorkloadCache> | undefined;

  constructor(private readonly options: KubernetesRuntimeOptions) {
    this.o = resolveKubernetesOptions(options);
    // With a pull token source, pods read their download credential from its Secret.
    this.manifests = resolveManifestOptions(
      options.pullToken === undefined
        ? options.manifests
        : { pullTokenSecret: PULL_TOKEN_SECRET, ...options.manifests },
    );
    this.owner = this.manifests.owner;
    this.pullTokens =
      options.pullToken === undefined ? undefined : new PullTokens(this.o.client, options.pullToken, this.owner);
  }

  /** The namespace of `environment`'s workloads. */
  namespaceOf(environment: string): string {
    return this.o.namespaceOf(environment);
  }

  async apply(workload: Workload): Promise<void> {
    validateKubernetesWorkload(workload);
    const namespace = this.o.namespaceOf(workload.key.environment);
    const rendered = renderWorkload(workload, this.manifests, namespace);
    await this.serial.run(workloadKeyString(workload.key), async () => {
      // First, even for a workload already applied: after a restart this is what (re)starts renewal.
      await this.pullTokens?.ensure(namespace);
      const name = revisionName(workload.key);
      const current = await this.o.client.get('apps/v1', 'Deployment', namespace, name);
      // Same hash: everything was applied before. A replica count changed by hand (kubectl
      // scale) is drift the hash cannot see, so it is compared too (unless an HPA owns it).
      const autoscaled = rendered.revision.some((o) => o.kind === 'HorizontalPodAutoscaler');
      const upToDate = (d: KubeItem | undefined): boolean =>
        d?.metadata?.annotations?.[SPEC_HASH_ANNOTATION] === rendered.hash &&
        (autoscaled || specReplicas(d) === workload.replicas);
      const inCache = (c: WorkloadCache): boolean =>
        c.deployments({}, namespace).some((d) => d.metadata?.name === name && upToDate(d));
      if (upToDate(current)) return this.caughtUp(inCache);
      for (const object of await this.versionSecrets(workload, namespace)) await this.o.client.apply(object);
      for (const object of [...rendered.shared, ...rendered.revision]) await this.o.client.apply(object);
      if (!autoscaled) {
        await this.o.client.delete('autoscaling/v2', 'HorizontalPodAutoscaler', namespace, name);
      }
      await this.caughtUp(inCache);
    });
  }

  /**
   * The immutable Secret of each secret version the workload's `secretEnv` pins (`<secret>-v<n>`,
   * the name the pod template's `secretKeyRef` uses), with every item of that version: the same
   * version always renders the same Secret, so revisions sharing it never fight over its content.
   * Left in place when a revision goes (a later revision or a rollback may use it again).
   */
  private async versionSecrets(workload: Workload, namespace: string): Promise<KubeObject[]> {
    const versions = new Map<string, { secret: string; version: number }>();
    for (const ref of Object.values(workload.secretEnv ?? {}))
      if (ref.version !== undefined)
        versions.set(`${ref.secret}@${ref.version}`, { secret: ref.secret, version: ref.version });
    if (versions.size === 0) return [];
    const read = this.options.readSecretVersion;
    if (read === undefined)
      throw new InvalidArgumentError(
        `secretEnv: this kubernetes runtime cannot read secrets (no secret reader configured) for ${workloadKeyString(workload.key)}`,
      );
    const out: KubeObject[] = [];
    for (const { secret, version } of versions.values())
      out.push(
        renderVersionSecret(
          namespace,
          secret,
          version,
          await read(workload.key.environment, secret, version),
          this.owner,
        ) as KubeObject,
      );
    return out;
  }

  async observe(key: WorkloadKey): Promise<WorkloadStatus | undefined> {
    const namespace = this.o.namespaceOf(key.environment);
    const deployment = await this.o.client.get('apps/v1', 'Deployment', namespace, revisionName(key));
    if (!deployment || deployment.metadata?.labels?.[LABELS.owner] !== this.owner) return undefined;
    const pods = await this.o.client.list('v1', 'Pod', namespace, selectorString(revisionSelector(key, this.owner)));
    return this.statusOf(key, deployment, pods.items);
  }

  /** From the cache (started by the first call), narrowed by the environment and deployment labels. */
  async list(selector: WorkloadSelector = {}): Promise<WorkloadStatus[]> {
    const cache = await this.startCache();
    const labels = {
      ...(selector.environment === undefined ? {} : { [LABELS.environment]: labelValue(selector.environment) }),
      ...(selector.deployment === undefined ? {} : { [LABELS.deployment]: labelValue(selector.deployment) }),
    };
    const out: WorkloadStatus[] = [];
    for (const d of cache.deployments(labels)) {
      const key = keyOf(d);
      if (!key || !selects(selector, key)) continue; // label values are cut to 63 characters
      out.push(this.statusOf(key, d, cache.pods(d.metadata!.namespace!, revisionSelector(key, this.owner))));
    }
    return out;
  }

  async remove(key: WorkloadKey): Promise<void> {
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
      if (others.items.length === 0) {
        for (const [apiVersion, kind] of SHARED_KINDS)
          await this.deleteMatching(apiVersion, kind, namespace, `${deployment},!${LABELS.revision}`);
      }
      const labels = revisionSelector(key, this.owner);
      await this.caughtUp(
        (c) => c.deployments(labels, namespace).length === 0 && c.pods(namespace, labels).length === 0,
      );
    });
  }

  /**
   * Lines of the workload's pods (every line is `stdout`: the Pod log API merges the streams).
   * Throws NotFoundError for an unknown key or replica.
   */
  async *logs(key: WorkloadKey, options: LogOptions = {}): AsyncIterable<LogLine> {
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

  /** Waits for calls under way and stops the cache's watches; nothing on the cluster changes (see the module comment). */
  async close(): Promise<void> {
    this.pullTokens?.stop();
    await this.serial.idle();
    const cache = await this.cache?.catch(() => undefined);
    await cache?.stop();
  }

  private startCache(): Promise<WorkloadCache> {
    this.cache ??= WorkloadCache.start(this.o.client, `${LABELS.owner}=${this.owner}`, {
      rewatchDelayMs: this.o.rewatchDelayMs,
    }).catch((err: unknown) => {
      this.cache = undefined; // the next list tries again
      throw err;
    });
    return this.cache;
  }

  /** Waits (bounded) until a started cache shows this engine's own write; see CACHE_CATCH_UP_MS. */
  private async caughtUp(shows: (cache: WorkloadCache) => boolean): Promise<void> {
    const cache = await this.cache?.catch(() => undefined);
    if (cache) await cache.until(() => shows(cache), CACHE_CATCH_UP_MS);
  }

  /**
   * A worker (component label `worker`) has no endpoint: it is ready from its pod status alone.
   * Pod-IP endpoints use the port of the pod template's `http` port (an application's own).
   */
  private statusOf(key: WorkloadKey, deployment: KubeItem, pods: KubeItem[]): WorkloadStatus {
    const namespace = deployment.metadata?.namespace ?? this.o.namespaceOf(key.environment);
    const worker = deployment.metadata?.labels?.[COMPONENT_LABEL] === 'worker';
    const port = httpPort(deployment) ?? this.manifests.port;
    const service = `http://${revisionName(key)}.${namespace}.svc.${this.o.clusterDomain}`;
    const endpointOf = (pod: PodLike): string | undefined =>
      worker ? undefined : this.o.endpoints === 'service' ? service : `http://${pod.status!.podIP}:${port}`;
    return workloadStatus(key, deployment as never, pods as PodLike[], endpointOf, new Date().toISOString());
  }

  private async deleteMatching(apiVersion: string, kind: string, namespace: string, selector: string): Promise<void> {
    const { items } = await this.o.client.list(apiVersion, kind, namespace, selector);
    for (const item of items) await this.o.client.delete(apiVersion, kind, namespace, item.metadata!.name!);
  }
}

/** The workload key in a Deployment's labels, or undefined when they are not Wharf's. */
function keyOf(d: KubeItem): WorkloadKey | undefined {
  const l = d.metadata?.labels ?? {};
  const [environment, deployment, revision] = [l[LABELS.environment], l[LABELS.deployment], Number(l[LABELS.revision])];
  if (!environment || !deployment || !Number.isInteger(revision)) return undefined;
  return { environment, deployment, revision };
}

function specReplicas(d: KubeItem): number | undefined {
  return (d.spec as { replicas?: number } | undefined)?.replicas;
}

function mainContainer(pod: KubeItem): string {
  return (pod.spec as { containers?: { name: string }[] } | undefined)?.containers?.[0]?.name ?? 'server';
}
