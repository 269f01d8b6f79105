/**
 * The few Kubernetes API calls the runtime makes, over `@kubernetes/client-node`, with one retry
 * policy: conflicts (409), throttling (429), server errors (5xx) and network errors are retried
 * with doubling delays; anything else (400 invalid object, 403 forbidden, 404) is not.
 *
 * Writes are server-side apply with one field manager (`wharf`) and `force`: Wharf owns the fields
 * it sets, and a field someone else changed by hand is taken back on the next apply.
 *
 * @example
 *   const client = new KubeClient(loadKubeConfig({ context: 'prod' }));
 *   await client.apply({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x', namespace: 'ns' }, data: {} });
 */
import { PassThrough } from 'node:stream';
import {
  ApiException,
  KubeConfig,
  type KubernetesObject,
  KubernetesObjectApi,
  ListWatch,
  Log,
  PatchStrategy,
  Watch,
} from '@kubernetes/client-node';
import { InvalidArgumentError } from '../../core/errors.js';

/** Retry settings; every default in {@link KUBE_CLIENT_DEFAULTS}. */
export interface KubeClientOptions {
  readonly fieldManager?: string;
  readonly attempts?: number;
  readonly initialBackoffMs?: number;
  readonly maxBackoffMs?: number;
  /** Told about every retried failure (for logs and tests). */
  readonly onRetry?: (what: string, error: unknown, attempt: number) => void;
}

/** The defaults. */
export const KUBE_CLIENT_DEFAULTS = {
  fieldManager: 'wharf',
  attempts: 6,
  initialBackoffMs: 100,
  maxBackoffMs: 3_000,
} as const;

/** An object as read back from the API. */
export type KubeItem = KubernetesObject & { spec?: unknown; status?: unknown };

/** How a kubeconfig is chosen. */
export interface KubeConfigSource {
  /** Path of a kubeconfig file; default `$KUBECONFIG` or `~/.kube/config`, or in-cluster when running in a pod. */
  readonly kubeconfig?: string;
  /** Context to use instead of the file's current one. */
  readonly context?: string;
}

/** Loads a kubeconfig; throws InvalidArgumentError for an unknown context. */
export function loadKubeConfig(source: KubeConfigSource = {}): KubeConfig {
  const kc = new KubeConfig();
  if (source.kubeconfig) kc.loadFromFile(source.kubeconfig);
  else kc.loadFromDefault();
  if (source.context) {
    if (!kc.getContextObject(source.context)) {
      throw new InvalidArgumentError(
        `context: no context ${JSON.stringify(source.context)} in the kubeconfig (has: ${
          kc
            .getContexts()
            .map((c) => c.name)
            .join(', ') || 'none'
        })`,
      );
    }
    kc.setCurrentContext(source.context);
  }
  return kc;
}

/** True for failures worth retrying (see the module comment). */
export function isRetryable(error: unknown): boolean {
  if (error instanceof ApiException) return error.code === 409 || error.code === 429 || error.code >= 500;
  const code = (error as { code?: unknown })?.code;
  return (
    (typeof code === 'string' && /^(ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|EAI_AGAIN|UND_ERR_SOCKET)$/.test(code)) ||
    (error as Error)?.name === 'FetchError'
  );
}

/** The HTTP status of an API error, or undefined for anything else. */
export function statusOf(error: unknown): number | undefined {
  return error instanceof ApiException ? error.code : undefined;
}

/** See the module comment. */
export class KubeClient {
  private readonly objects: KubernetesObjectApi;
  private readonly watcher: Watch;
  private readonly logger: Log;
  private readonly o: Required<Omit<KubeClientOptions, 'onRetry'>> & Pick<KubeClientOptions, 'onRetry'>;

  constructor(
    readonly config: KubeConfig,
    options: KubeClientOptions = {},
  ) {
    this.objects = KubernetesObjectApi.makeApiClient(config);
    this.watcher = new Watch(config);
    this.logger = new Log(config);
    this.o = { ...KUBE_CLIENT_DEFAULTS, ...options };
  }

  /** The namespace of the current context, or `default`. */
  defaultNamespace(): string {
    return this.config.getContextObject(this.config.getCurrentContext())?.namespace ?? 'default';
  }

  /** Server-side apply of `object` (see the module comment); returns the object as stored. */
  apply<T extends KubernetesObject>(object: T): Promise<KubeItem> {
    return this.retry(`apply ${object.kind} ${object.metadata?.namespace}/${object.metadata?.name}`, () =>
      this.objects.patch(object, undefined, undefined, this.o.fieldManager, true, PatchStrategy.ServerSideApply),
    );
  }

  /** The object, or undefined when it does not exist. */
  async get(apiVersion: string, kind: string, namespace: string, name: string): Promise<KubeItem | undefined> {
    try {
      return await this.retry(`get ${kind} ${namespace}/${name}`, () =>
        this.objects.read({ apiVersion, kind, metadata: { name, namespace } }),
      );
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      throw err;
    }
  }

  /** Objects matching `labelSelector` in `namespace` (every namespace when undefined), with the list's resourceVersion. */
  async list(
    apiVersion: string,
    kind: string,
    namespace: string | undefined,
    labelSelector: string,
  ): Promise<{ items: KubeItem[]; resourceVersion: string }> {
    const list = await this.retry(`list ${kind} ${labelSelector}`, () =>
      this.objects.list<KubeItem>(
        apiVersion,
        kind,
        namespace,
        undefined,
        undefined,
        undefined,
        undefined,
        labelSelector,
      ),
    );
    return { items: list.items, resourceVersion: list.metadata?.resourceVersion ?? '' };
  }

  /** Deletes the object; one that is already gone is not an error. */
  async delete(apiVersion: string, kind: string, namespace: string, name: string): Promise<void> {
    try {
      await this.retry(`delete ${kind} ${namespace}/${name}`, () =>
        this.objects.delete(
          { apiVersion, kind, metadata: { name, namespace } },
          undefined,
          undefined,
          undefined,
          undefined,
          'Background',
        ),
      );
    } catch (err) {
      if (statusOf(err) !== 404) throw err;
    }
  }

  /**
   * Watches `path` from `resourceVersion` until `signal` aborts or the stream ends (the caller
   * lists again and re-watches: a dropped watch is normal). Resolves when the watch has ended.
   */
  watch(
    path: string,
    params: Record<string, string>,
    onEvent: (type: string, object: KubeItem) => void,
    signal: AbortSignal,
  ): Promise<void> {
    return new Promise((resolve) => {
      let abort: AbortController | undefined;
      const onAbort = (): void => abort?.abort();
      signal.addEventListener('abort', onAbort, { once: true });
      const finish = (): void => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      };
      this.watcher
        .watch(
          path,
          { ...params, allowWatchBookmarks: 'false' },
          (type, object) => onEvent(type, object as KubeItem),
          finish,
        )
        .then((controller) => {
          abort = controller;
          if (signal.aborted) controller.abort();
        }, finish);
    });
  }

  /**
   * A list+watch cache (the client library's informer) of `kind` at `path` (e.g.
   * `/api/v1/pods`: every namespace) matching `labelSelector`, listing through this client's
   * retries; `onList` is told after each successful list. Not started: call `start()`.
   */
  informer(
    path: string,
    apiVersion: string,
    kind: string,
    labelSelector: string,
    onList: () => void = () => undefined,
  ): ListWatch<KubeItem> {
    const list = async (): Promise<{ metadata: { resourceVersion: string }; items: KubeItem[] }> => {
      const { items, resourceVersion } = await this.list(apiVersion, kind, undefined, labelSelector);
      onList();
      return { metadata: { resourceVersion }, items };
    };
    return new ListWatch<KubeItem>(path, this.watcher, list, false, labelSelector);
  }

  /**
   * Lines of one container's log (with the API server's RFC 3339 timestamps), until the log ends
   * or, when following, until `signal` aborts.
   */
  async *podLogs(
    namespace: string,
    pod: string,
    container: string,
    options: { follow?: boolean; tail?: number; signal?: AbortSignal },
  ): AsyncIterable<string> {
    const stream = new PassThrough();
    const controller = await this.logger.log(namespace, pod, container, stream, {
      timestamps: true,
      follow: options.follow ?? false,
      ...(options.tail === undefined ? {} : { tailLines: options.tail }),
    });
    const stop = (): void => {
      controller.abort();
      stream.end();
    };
    options.signal?.addEventListener('abort', stop, { once: true });
    if (options.signal?.aborted) stop(); // aborted while the request was being made
    try {
      let rest = '';
      for await (const chunk of stream) {
        const parts = (rest + (chunk as Buffer).toString('utf8')).split('\n');
        rest = parts.pop()!;
        yield* parts;
      }
      if (rest) yield rest;
    } finally {
      options.signal?.removeEventListener('abort', stop);
      controller.abort();
    }
  }

  private async retry<T>(what: string, call: () => Promise<T>): Promise<T> {
    let delay = this.o.initialBackoffMs;
    for (let attempt = 1; ; attempt++) {
      try {
        return await call();
      } catch (err) {
        if (attempt >= this.o.attempts || !isRetryable(err)) throw describe(what, err);
        this.o.onRetry?.(what, err, attempt);
        await new Promise((resolve) => setTimeout(resolve, delay));
        delay = Math.min(this.o.maxBackoffMs, delay * 2);
      }
    }
  }
}

/** An ApiException with the API server's own message in its message (kept as the same class). */
function describe(what: string, err: unknown): unknown {
  if (!(err instanceof ApiException)) return err;
  const body = err.body as { message?: string } | string | undefined;
  const detail = typeof body === 'string' ? safeMessage(body) : body?.message;
  return new ApiException(err.code, `${what}: ${err.code}${detail ? ` ${detail}` : ''}`, err.body, err.headers);
}

function safeMessage(body: string): string | undefined {
  try {
    return (JSON.parse(body) as { message?: string }).message;
  } catch {
    return body.slice(0, 200);
  }
}
