/**
 * An in-process Kubernetes API server for the tests: a real HTTP server on 127.0.0.1, port 0,
 * speaking the REST paths, verbs and bodies of the calls Wharf uses — discovery, server-side apply
 * (`PATCH` with `application/apply-patch+yaml`, `fieldManager`, `force`), get, list with label
 * selectors, watch (from a resourceVersion, 410 Gone when too old), delete and delete-collection,
 * and pod logs — over the store in `fake-kube-store.ts`. With `kubelet` it also runs a simulated
 * Deployment controller and kubelet (`fake-kubelet.ts`) that turn Deployments into pods running
 * as local processes.
 *
 * Faults can be injected: {@link FakeKubeApi.failNext} answers the next matching requests with a
 * status (409, 500, 503 …) and {@link FakeKubeApi.dropWatches} cuts every open watch stream.
 *
 * @example
 *   const api = await FakeKubeApi.start({ kubelet: { wharfBin } });
 *   const kc = api.kubeConfig();            // a @kubernetes/client-node KubeConfig for it
 *   api.failNext({ method: 'PATCH', status: 409, times: 2 });
 *   await api.stop();
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { parse as parseYaml } from 'yaml';
import { FakeKubelet, type FakeKubeletOptions } from './fake-kubelet.js';
import { FakeKubeStore, type KObject, parseSelector, StatusError, type WatchEvent } from './fake-kube-store.js';

/** A resource type the server knows. */
interface ResourceType {
  readonly group: string;
  readonly version: string;
  readonly kind: string;
  readonly plural: string;
  readonly namespaced: boolean;
}

const TYPES: ResourceType[] = [
  { group: '', version: 'v1', kind: 'Pod', plural: 'pods', namespaced: true },
  { group: '', version: 'v1', kind: 'Service', plural: 'services', namespaced: true },
  { group: '', version: 'v1', kind: 'ConfigMap', plural: 'configmaps', namespaced: true },
  { group: '', version: 'v1', kind: 'Secret', plural: 'secrets', namespaced: true },
  { group: '', version: 'v1', kind: 'ServiceAccount', plural: 'serviceaccounts', namespaced: true },
  { group: 'apps', version: 'v1', kind: 'Deployment', plural: 'deployments', namespaced: true },
  {
    group: 'autoscaling',
    version: 'v2',
    kind: 'HorizontalPodAutoscaler',
    plural: 'horizontalpodautoscalers',
    namespaced: true,
  },
  { group: 'policy', version: 'v1', kind: 'PodDisruptionBudget', plural: 'poddisruptionbudgets', namespaced: true },
  { group: 'networking.k8s.io', version: 'v1', kind: 'NetworkPolicy', plural: 'networkpolicies', namespaced: true },
  { group: 'gateway.networking.k8s.io', version: 'v1', kind: 'HTTPRoute', plural: 'httproutes', namespaced: true },
];

/** `group/version/plural`, the store's resource key. */
export function resourceKey(t: Pick<ResourceType, 'group' | 'version' | 'plural'>): string {
  return `${t.group}/${t.version}/${t.plural}`;
}

/** One request as the server saw it. */
export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly status: number;
}

/** A planned failure: the next `times` requests matching `method` and `path` get `status`. */
export interface Fault {
  readonly method?: string;
  readonly path?: RegExp;
  readonly status: number;
  times: number;
}

/** Options of {@link FakeKubeApi.start}. */
export interface FakeKubeApiOptions {
  /** Run Deployments' pods as local processes. Without it, pods exist only if a test creates them. */
  readonly kubelet?: FakeKubeletOptions;
}

/** See the module comment. */
export class FakeKubeApi {
  readonly store = new FakeKubeStore();
  readonly kubelet: FakeKubelet | undefined;
  /** Every request, in order. */
  readonly requests: RecordedRequest[] = [];
  private readonly faults: Fault[] = [];
  private readonly watches = new Set<ServerResponse>();
  private server!: Server;
  url = '';

  private constructor(options: FakeKubeApiOptions) {
    this.kubelet = options.kubelet ? new FakeKubelet(this.store, options.kubelet) : undefined;
  }

  /** Starts a server on 127.0.0.1 with a free port. */
  static async start(options: FakeKubeApiOptions = {}): Promise<FakeKubeApi> {
    const api = new FakeKubeApi(options);
    api.server = createServer((req, res) => void api.handle(req, res));
    await new Promise<void>((resolve) => api.server.listen(0, '127.0.0.1', resolve));
    api.url = `http://127.0.0.1:${(api.server.address() as AddressInfo).port}`;
    return api;
  }

  /** A KubeConfig whose current context points at this server, namespace `default`. */
  kubeConfig(): KubeConfig {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'fake', server: this.url, skipTLSVerify: true }],
      users: [{ name: 'tester', token: 'test-token' }],
      contexts: [{ name: 'fake', cluster: 'fake', user: 'tester', namespace: 'default' }],
      currentContext: 'fake',
    });
    return kc;
  }

  /** The kubeconfig file text for this server (for the CLI and `wharf up`). */
  kubeConfigYaml(): string {
    return this.kubeConfig().exportConfig();
  }

  /** Answers the next `times` requests matching `method` / `path` with `status`. */
  failNext(fault: Omit<Fault, 'times'> & { times?: number }): void {
    this.faults.push({ ...fault, times: fault.times ?? 1 });
  }

  /** Cuts every open watch connection mid-stream, as a load balancer timeout or apiserver restart would. */
  dropWatches(): number {
    const n = this.watches.size;
    for (const res of this.watches) res.socket?.destroy();
    this.watches.clear();
    return n;
  }

  /** Requests that changed or tried to change state (not GET), for "no change was sent" checks. */
  writes(): RecordedRequest[] {
    return this.requests.filter((r) => r.method !== 'GET');
  }

  /** Stops the simulated kubelet (killing its processes) and the server. */
  async stop(): Promise<void> {
    await this.kubelet?.stop();
    this.dropWatches();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.url);
    const method = req.method ?? 'GET';
    let status = 200;
    try {
      const fault = this.faults.find(
        (f) => (!f.method || f.method === method) && (!f.path || f.path.test(url.pathname)) && f.times > 0,
      );
      if (fault) {
        fault.times -= 1;
        if (fault.times === 0) this.faults.splice(this.faults.indexOf(fault), 1);
        throw new StatusError(
          fault.status,
          fault.status === 409 ? 'Conflict' : 'InternalError',
          `injected fault ${fault.status}`,
        );
      }
      const body = method === 'PATCH' || method === 'POST' || method === 'PUT' ? await readBody(req) : '';
      status = await this.route(method, url, req, body, res);
    } catch (err) {
      const e = err instanceof StatusError ? err : new StatusError(500, 'InternalError', (err as Error).message);
      status = e.code;
      if (!res.headersSent) send(res, e.code, e.body());
      else res.end();
    } finally {
      this.requests.push({ method, path: url.pathname + url.search, status });
    }
  }

  /** Serves one request; returns the status sent. */
  private async route(
    method: string,
    url: URL,
    req: IncomingMessage,
    body: string,
    res: ServerResponse,
  ): Promise<number> {
    const discovery = this.discovery(url.pathname);
    if (discovery) return send(res, 200, discovery);
    const m =
      /^\/(?:api\/(v1)|apis\/([^/]+)\/([^/]+))(?:\/namespaces\/([^/]+))?\/([^/]+)(?:\/([^/]+))?(?:\/(log))?$/.exec(
        url.pathname,
      );
    const type =
      m &&
      TYPES.find(
        (t) =>
          t.plural === m[5] && (m[1] ? t.group === '' && t.version === m[1] : t.group === m[2] && t.version === m[3]),
      );
    if (!m || !type)
      throw new StatusError(
        404,
        'NotFound',
        `the server could not find the requested resource (${method} ${url.pathname})`,
      );
    const [namespace, name, sub] = [m[4], m[6], m[7]];
    const resource = resourceKey(type);
    const q = url.searchParams;
    if (sub === 'log') {
      if (!this.kubelet) throw new StatusError(404, 'NotFound', 'no kubelet');
      return this.kubelet.serveLogs(namespace!, name!, q, req, res);
    }
    if (method === 'GET' && name) {
      const object = this.store.get(resource, namespace!, name);
      if (!object) throw notFound(type, name);
      return send(res, 200, object);
    }
    if (method === 'GET' && q.get('watch') === 'true') return this.watch(resource, namespace, q, res);
    if (method === 'GET') {
      const rv = this.store.resourceVersion;
      const items = this.store.list(resource, namespace, parseSelector(q.get('labelSelector')));
      return send(res, 200, {
        apiVersion: type.group ? `${type.group}/${type.version}` : type.version,
        kind: `${type.kind}List`,
        metadata: { resourceVersion: String(rv) },
        items,
      });
    }
    if (method === 'PATCH' && name) {
      if (req.headers['content-type'] !== 'application/apply-patch+yaml')
        throw new StatusError(
          415,
          'UnsupportedMediaType',
          `only server-side apply is supported, got ${req.headers['content-type']}`,
        );
      const manager = q.get('fieldManager');
      if (!manager)
        throw new StatusError(
          400,
          'BadRequest',
          'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch',
        );
      const config = parseYaml(body) as KObject;
      const apiVersion = type.group ? `${type.group}/${type.version}` : type.version;
      if (config?.apiVersion !== apiVersion || config.kind !== type.kind)
        throw new StatusError(400, 'BadRequest', `apiVersion/kind must be ${apiVersion}/${type.kind}`);
      if (config.metadata?.name !== name) throw new StatusError(400, 'BadRequest', `metadata.name: must be ${name}`);
      if (config.metadata.namespace !== undefined && config.metadata.namespace !== namespace)
        throw new StatusError(
          400,
          'BadRequest',
          'the namespace of the object does not match the namespace on the request',
        );
      const stored = this.store.apply(resource, namespace!, config, manager, q.get('force') === 'true');
      return send(res, 200, stored);
    }
    if (method === 'DELETE') {
      if (name) {
        const deleted = this.delete(type, namespace!, name);
        if (!deleted) throw notFound(type, name);
        return send(res, 200, deleted);
      }
      const selector = parseSelector(q.get('labelSelector'));
      const items = this.store
        .list(resource, namespace, selector)
        .map((o) => this.delete(type, o.metadata.namespace!, o.metadata.name))
        .filter(Boolean);
      return send(res, 200, { apiVersion: 'v1', kind: `${type.kind}List`, metadata: {}, items });
    }
    throw new StatusError(405, 'MethodNotAllowed', `${method} is not supported on ${url.pathname}`);
  }

  /** Deletes an object: pods terminate gracefully (through the kubelet); owners' pods are collected. */
  private delete(type: ResourceType, namespace: string, name: string): KObject | undefined {
    const resource = resourceKey(type);
    if (type.kind === 'Pod' && this.kubelet) return this.kubelet.deletePod(namespace, name);
    const removed = this.store.remove(resource, namespace, name);
    if (removed && this.kubelet) this.kubelet.collectOrphans(removed.metadata.uid!);
    return removed;
  }

  private watch(resource: string, namespace: string | undefined, q: URLSearchParams, res: ServerResponse): number {
    const selector = parseSelector(q.get('labelSelector'));
    const matches = (e: WatchEvent): boolean =>
      e.resource === resource &&
      (namespace === undefined || e.object.metadata.namespace === namespace) &&
      selector(e.object.metadata.labels ?? {});
    const since = q.get('resourceVersion');
    let backlog: WatchEvent[];
    try {
      backlog = since
        ? this.store.eventsSince(resource, Number(since)).filter(matches)
        : this.store
            .list(resource, namespace, selector)
            .map((object) => ({ type: 'ADDED', object, rv: 0, resource }) as WatchEvent);
    } catch (err) {
      if (!(err instanceof StatusError)) throw err;
      // The API server reports an expired resourceVersion as an ERROR event on a 200 stream.
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ type: 'ERROR', object: err.body() }) + '\n');
      return 200;
    }
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    // As the API server does: the headers go out at once, before any event, so a client that
    // waits for the response (the client library's informer does) knows the watch is open.
    res.flushHeaders();
    const write = (e: WatchEvent): void => void res.write(JSON.stringify({ type: e.type, object: e.object }) + '\n');
    for (const e of backlog) write(e);
    const listener = (e: WatchEvent): void => {
      if (matches(e)) write(e);
    };
    this.store.events.on('event', listener);
    this.watches.add(res);
    const timeout = Number(q.get('timeoutSeconds') ?? 0);
    const timer = timeout > 0 ? setTimeout(() => res.end(), timeout * 1000) : undefined;
    res.on('close', () => {
      clearTimeout(timer);
      this.store.events.off('event', listener);
      this.watches.delete(res);
    });
    return 200;
  }

  private discovery(path: string): unknown {
    if (path === '/api') return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [] };
    if (path === '/apis') {
      const groups = [...new Set(TYPES.filter((t) => t.group).map((t) => `${t.group}/${t.version}`))];
      return {
        kind: 'APIGroupList',
        apiVersion: 'v1',
        groups: groups.map((gv) => ({
          name: gv.split('/')[0],
          versions: [{ groupVersion: gv, version: gv.split('/')[1] }],
          preferredVersion: { groupVersion: gv, version: gv.split('/')[1] },
        })),
      };
    }
    const m = /^\/(?:api\/(v1)|apis\/([^/]+)\/([^/]+))$/.exec(path);
    if (!m) return undefined;
    const [group, version] = m[1] ? ['', m[1]] : [m[2]!, m[3]!];
    const resources = TYPES.filter((t) => t.group === group && t.version === version).flatMap((t) => [
      {
        name: t.plural,
        singularName: t.kind.toLowerCase(),
        namespaced: t.namespaced,
        kind: t.kind,
        verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'],
      },
      ...(t.kind === 'Pod'
        ? [{ name: 'pods/log', singularName: '', namespaced: true, kind: 'Pod', verbs: ['get'] }]
        : []),
    ]);
    if (resources.length === 0) return undefined;
    return {
      kind: 'APIResourceList',
      apiVersion: 'v1',
      groupVersion: group ? `${group}/${version}` : version,
      resources,
    };
  }
}

function notFound(type: ResourceType, name: string): StatusError {
  return new StatusError(404, 'NotFound', `${type.plural}${type.group ? `.${type.group}` : ''} "${name}" not found`, {
    name,
    kind: type.plural,
  });
}

function send(res: ServerResponse, status: number, body: unknown): number {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
  return status;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
