/**
 * Keeps the gateway's {@link RouteTable} current: recompiles it (`route-compiler.ts`) when a
 * deployment or an API token changes in the store (a revoked token leaves the routes of protected
 * deployments at once) and every `refreshIntervalMs` (replicas becoming ready or dying raise no
 * store change; tokens expire with no change either), and publishes a new table only when the
 * routes changed.
 *
 * Versions: the gateway ignores a table whose version is not above the one it has, across
 * control-plane restarts too. A version is therefore `max(previous + 1, clock())` with a
 * millisecond clock: strictly increasing within a process, and above any earlier process's
 * versions unless the clock went backwards or that process published more than one table per
 * millisecond on average (tables are coalesced, so it does not).
 *
 * @example
 *   const routes = new RoutePublisher({ store, runtime });
 *   await routes.start();
 *   res.write(JSON.stringify(routes.current()) + '\n');
 *   const unsubscribe = routes.subscribe((table) => res.write(JSON.stringify(table) + '\n'));
 */
import { unlessNotFound } from '../../core/errors.js';
import type { DeploymentSpec, ModelReference } from '../../core/resources.js';
import { jsonEqual } from '../../core/revision-diff.js';
import type { Route, RouteTable } from '../../protocol/route-table.js';
import type { Runtime } from '../../runtime/runtime.js';
import type { Store } from '../../store/store.js';
import { compileRoutes } from './route-compiler.js';
import { listAll } from '../../services/store-pages.js';

/** Settings of {@link RoutePublisher}; every default is in {@link ROUTE_PUBLISHER_DEFAULTS}. */
export interface RoutePublisherOptions {
  store: Store;
  runtime: Pick<Runtime, 'list'> & Partial<Pick<Runtime, 'onChange' | 'capabilities'>>;
  /** How often the runtime is polled for replica changes (a safety net where the runtime notifies). */
  refreshIntervalMs?: number;
  /** Milliseconds clock for versions (see the module comment). */
  clock?: () => number;
  /** Reports a failed refresh; the last table stays current. */
  onError?(error: unknown): void;
}

/** Defaults of {@link RoutePublisherOptions}. */
export const ROUTE_PUBLISHER_DEFAULTS = { refreshIntervalMs: 1_000 } as const;

/** Called with every new table. */
export type RouteTableListener = (table: RouteTable) => void;

/** See the module comment. */
export class RoutePublisher {
  readonly #o: RoutePublisherOptions;
  readonly #listeners = new Set<RouteTableListener>();
  /** What revisions run (see {@link revisionRuns}) by `id@number`: revisions are immutable, so entries never go stale. */
  readonly #models = new Map<string, ModelReference>();
  readonly #abort = new AbortController();
  #table: RouteTable = { version: 0, routes: [] };
  #refreshing: Promise<void> | undefined;
  #dirty = false;
  #timer: NodeJS.Timeout | undefined;
  #watching: Promise<void> | undefined;
  #unsubscribeRuntime: (() => void) | undefined;

  constructor(options: RoutePublisherOptions) {
    this.#o = options;
  }

  /** The newest table (version 0 with no routes before the first compile). */
  current(): RouteTable {
    return this.#table;
  }

  /** Calls `listener` with each new table until the returned function is called. Send {@link current} first. */
  subscribe(listener: RouteTableListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Compiles the first table, then follows the store's changes and polls the runtime. */
  async start(): Promise<void> {
    const since = await this.#o.store.latestSequence();
    await this.refresh();
    this.#watching = this.#watch(since);
    // A replica that turns ready is routed to at once rather than at the next poll: what makes a
    // scale-up or a start from zero take traffic as soon as the replica can.
    const { runtime } = this.#o;
    if (runtime.capabilities?.changeNotifications && runtime.onChange)
      this.#unsubscribeRuntime = runtime.onChange(() => void this.refresh());
    this.#timer = setInterval(
      () => void this.refresh(),
      this.#o.refreshIntervalMs ?? ROUTE_PUBLISHER_DEFAULTS.refreshIntervalMs,
    );
  }

  /** Stops following changes; {@link current} keeps returning the last table. */
  async stop(): Promise<void> {
    this.#abort.abort();
    this.#unsubscribeRuntime?.();
    clearInterval(this.#timer);
    await Promise.all([this.#watching, this.#refreshing]);
  }

  /** Recompiles now (coalesced with a compile already under way); resolves when the table reflects this call. */
  refresh(): Promise<void> {
    this.#dirty = true;
    this.#refreshing ??= (async () => {
      try {
        while (this.#dirty && !this.#abort.signal.aborted) {
          this.#dirty = false;
          await this.#compile().catch((error: unknown) => this.#o.onError?.(error));
        }
      } finally {
        this.#refreshing = undefined;
      }
    })();
    return this.#refreshing;
  }

  async #watch(since: number): Promise<void> {
    const signal = this.#abort.signal;
    while (!signal.aborted) {
      try {
        // Tokens too: a revoked (or new) token changes the routes of protected deployments.
        for await (const change of this.#o.store.watch({ since, kinds: ['Deployment', 'ApiToken'], signal })) {
          since = change.sequence;
          void this.refresh();
        }
        return;
      } catch (error) {
        if (signal.aborted) return;
        this.#o.onError?.(error);
        await new Promise((resolve) =>
          setTimeout(resolve, this.#o.refreshIntervalMs ?? ROUTE_PUBLISHER_DEFAULTS.refreshIntervalMs),
        );
      }
    }
  }

  async #compile(): Promise<void> {
    const { store, runtime } = this.#o;
    // One table for every environment: every workload (no narrower selector exists here).
    const [deployments, workloads] = await Promise.all([listAll(store.deployments), runtime.list()]);
    // Tokens only when some deployment is protected: an open fleet pays nothing for them.
    const tokens = deployments.some((d) => d.configuration.auth?.required === true) ? await listAll(store.tokens) : [];
    const ids = new Map(deployments.map((d) => [`${d.environment}\u0000${d.name}`, d.id]));
    const inUse = new Set<string>();
    for (const w of workloads) {
      const id = ids.get(`${w.key.environment}\u0000${w.key.deployment}`);
      if (id === undefined) continue;
      const key = `${id}@${w.key.revision}`;
      inUse.add(key);
      if (this.#models.has(key)) continue;
      // A revision gone with its deployment (deleted meanwhile) just has no route; other errors fail the compile.
      const revision = await unlessNotFound(store.revisions.get({ deployment: id, number: w.key.revision }));
      const runs = revision === undefined ? undefined : revisionRuns(revision.spec, w.key.revision);
      if (runs !== undefined) this.#models.set(key, runs);
    }
    for (const key of this.#models.keys()) if (!inUse.has(key)) this.#models.delete(key);
    // Expiry is wall-clock time (the gateway checks it again per request); `clock` is for versions only.
    const routes = compileRoutes(deployments, workloads, (id, n) => this.#models.get(`${id}@${n}`), {
      tokens,
      now: Date.now(),
    });
    this.#publish(routes);
  }

  #publish(routes: Route[]): void {
    if (this.#table.version !== 0 && jsonEqual(routes, this.#table.routes)) return;
    const version = Math.max(this.#table.version + 1, (this.#o.clock ?? Date.now)());
    this.#table = { version, routes };
    for (const listener of this.#listeners) {
      try {
        listener(this.#table);
      } catch (error) {
        this.#o.onError?.(error);
      }
    }
  }
}

/**
 * What a revision runs, as its route targets name it: a model's registry model and version; an
 * application's bundle, else its image (as the version), else `revision-<n>`; nothing for a worker
 * (it gets no route).
 */
export function revisionRuns(spec: DeploymentSpec, revision: number): ModelReference | undefined {
  if (spec.type === 'model') return spec.model;
  if (spec.type !== 'application') return undefined;
  if (spec.bundle !== undefined) return { name: spec.bundle.name, version: spec.bundle.version };
  return { name: 'application', version: spec.configuration.image ?? `revision-${revision}` };
}
