/**
 * Waiting, with list + watch, until no pod matches a selector: what `remove()` does so that it
 * returns only once the replicas have stopped (as the local engine's does). A watch that drops, or
 * whose resourceVersion has expired (410), is normal: list again and watch from the new version.
 */
import { UnavailableError } from '../../core/errors.js';
import type { KubeClient } from './kube-client.js';

/** Options of {@link waitUntilNoPods}. */
export interface WaitOptions {
  readonly timeoutMs: number;
  readonly rewatchDelayMs: number;
  /** Called after each dropped watch (for tests and logs). */
  readonly onRewatch?: () => void;
}

/** Resolves once no pod in `namespace` matches `selector`; throws UnavailableError after the timeout. */
export async function waitUntilNoPods(
  client: KubeClient,
  namespace: string,
  selector: string,
  o: WaitOptions,
): Promise<void> {
  const deadline = Date.now() + o.timeoutMs;
  const timeout = AbortSignal.timeout(o.timeoutMs);
  while (Date.now() < deadline) {
    const { items, resourceVersion } = await client.list('v1', 'Pod', namespace, selector);
    const remaining = new Set(items.map((p) => p.metadata?.name ?? ''));
    if (remaining.size === 0) return;
    const watch = new AbortController();
    const stop = (): void => watch.abort();
    timeout.addEventListener('abort', stop, { once: true });
    let expired = false;
    await client.watch(
      `/api/v1/namespaces/${namespace}/pods`,
      { labelSelector: selector, resourceVersion },
      (type, object) => {
        if (type === 'DELETED') remaining.delete(object.metadata?.name ?? '');
        else if (type === 'ADDED') remaining.add(object.metadata?.name ?? '');
        else if (type === 'ERROR') expired = true;
        if (remaining.size === 0 || expired) watch.abort();
      },
      watch.signal,
    );
    timeout.removeEventListener('abort', stop);
    if (remaining.size === 0) return;
    if (!watch.signal.aborted || expired) o.onRewatch?.();
    await new Promise((resolve) => setTimeout(resolve, o.rewatchDelayMs));
  }
  throw new UnavailableError(`pods matching ${selector} in ${namespace} were still there after ${o.timeoutMs} ms`);
}
