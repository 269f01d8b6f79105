/**
 * The Kubernetes engine's list+watch cache (informer-style) of the Deployments and Pods it owns,
 * in every namespace: `list()` is served from memory instead of listing every Deployment and Pod
 * of the installation on each reconcile. It uses the client library's `ListWatch` (what
 * `makeInformer` builds) over {@link KubeClient}'s retried list: list once, then watch from the
 * list's resourceVersion; a watch that ends is resumed, one whose version expired (410) lists
 * again, and one that fails is started again after `rewatchDelayMs`.
 *
 * A cache lags the API server by the time an event takes to arrive, so the engine waits, after its
 * own writes, until the cache shows them ({@link WorkloadCache.until}): a reconcile that applied or
 * removed a workload and lists at once sees what it did.
 *
 * @example
 *   const cache = await WorkloadCache.start(client, 'wharf.dev/owner=wharf', { rewatchDelayMs: 200 });
 *   const deployments = cache.deployments({ 'wharf.dev/environment': 'production' });
 */
import type { ListWatch } from '@kubernetes/client-node';
import type { KubeClient, KubeItem } from './kube-client.js';

/** Options of {@link WorkloadCache.start}. */
export interface WorkloadCacheOptions {
  /** Delay before a failed watch is started again. */
  readonly rewatchDelayMs: number;
  /** Told about every failed watch (for logs and tests). */
  readonly onError?: (error: unknown) => void;
}

/** See the module comment. */
export class WorkloadCache {
  #stopped = false;
  readonly #timers = new Set<NodeJS.Timeout>();

  private constructor(
    private readonly deploymentInformer: ListWatch<KubeItem>,
    private readonly podInformer: ListWatch<KubeItem>,
  ) {}

  /**
   * Lists and starts watching the Deployments and Pods matching `ownerSelector`; resolves once
   * both are listed, rejects (and stops) when a first list fails.
   */
  static async start(client: KubeClient, ownerSelector: string, o: WorkloadCacheOptions): Promise<WorkloadCache> {
    const firstLists: Promise<void>[] = [];
    const informer = (path: string, apiVersion: string, kind: string): ListWatch<KubeItem> => {
      let listed!: () => void;
      firstLists.push(new Promise<void>((resolve) => (listed = resolve)));
      return client.informer(path, apiVersion, kind, ownerSelector, () => listed());
    };
    const cache = new WorkloadCache(
      informer('/apis/apps/v1/deployments', 'apps/v1', 'Deployment'),
      informer('/api/v1/pods', 'v1', 'Pod'),
    );
    const informers = [cache.deploymentInformer, cache.podInformer];
    let synced = false;
    const first = Promise.all(firstLists);
    const failedFirst = new Promise<never>((_, reject) => {
      for (const i of informers) {
        i.on('error', (error?: unknown) => {
          if (!synced) return reject(error ?? new Error('the watch failed before its first list'));
          if (cache.#stopped) return;
          o.onError?.(error);
          cache.#restart(i, o.rewatchDelayMs);
        });
      }
    });
    try {
      await Promise.race([Promise.all(informers.map((i) => i.start())).then(() => first), failedFirst]);
    } catch (error) {
      await cache.stop();
      throw error;
    }
    synced = true;
    return cache;
  }

  /** Owned Deployments whose labels include `labels`. */
  deployments(labels: Readonly<Record<string, string>> = {}, namespace?: string): KubeItem[] {
    return this.deploymentInformer.list(namespace).filter((d) => hasLabels(d, labels));
  }

  /** Owned Pods in `namespace` whose labels include `labels`. */
  pods(namespace: string, labels: Readonly<Record<string, string>>): KubeItem[] {
    return this.podInformer.list(namespace).filter((p) => hasLabels(p, labels));
  }

  /**
   * Resolves true once `predicate` holds for the cache (checked now and after every event), or
   * false after `timeoutMs`: the cache then lags, and a later list shows the change.
   */
  until(predicate: () => boolean, timeoutMs: number): Promise<boolean> {
    if (predicate()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const informers = [this.deploymentInformer, this.podInformer];
      const done = (result: boolean): void => {
        clearTimeout(timer);
        for (const i of informers) i.off('change', check);
        resolve(result);
      };
      const check = (): void => {
        if (predicate()) done(true);
      };
      const timer = setTimeout(() => done(false), timeoutMs);
      for (const i of informers) i.on('change', check);
    });
  }

  /** Stops both watches; the cache is not used afterwards. */
  async stop(): Promise<void> {
    this.#stopped = true;
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    await Promise.all([this.deploymentInformer.stop(), this.podInformer.stop()]);
  }

  #restart(informer: ListWatch<KubeItem>, delayMs: number): void {
    if (this.#stopped) return;
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      if (!this.#stopped) void informer.start();
    }, delayMs);
    this.#timers.add(timer);
  }
}

function hasLabels(item: KubeItem, labels: Readonly<Record<string, string>>): boolean {
  return Object.entries(labels).every(([k, v]) => item.metadata?.labels?.[k] === v);
}
