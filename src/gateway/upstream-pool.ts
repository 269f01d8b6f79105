/**
 * Keep-alive connection pools to replicas: one undici `Pool` per backend, kept per backend id
 * across route-table swaps (with its balancer state), and closed once a backend has left the
 * table and its last in-flight request has finished.
 */
import { Pool } from 'undici';
import type { Backend } from '../protocol/route-table.js';
import type { Balanced } from './balancer.js';

/** Pool settings; every default is declared here. */
export interface UpstreamOptions {
  /** Time to open a TCP connection to a replica. A local replica connects in well under 1 ms. */
  connectTimeoutMs: number;
  /** Time from sending a request until the response headers arrive (model run included). → 504 */
  headersTimeoutMs: number;
  /** Longest pause between two chunks of a response body. */
  bodyTimeoutMs: number;
  /** Idle keep-alive time for a pooled connection when the replica gives no `Keep-Alive` hint. */
  keepAliveTimeoutMs: number;
  /** Upper bound on a replica's `Keep-Alive: timeout` hint. */
  keepAliveMaxTimeoutMs: number;
  /** Most connections to one replica; requests beyond that queue in the pool. */
  connectionsPerBackend: number;
}

/** Defaults: generous for model runs, quick to notice a replica that is gone. */
export const UPSTREAM_DEFAULTS: Readonly<UpstreamOptions> = {
  connectTimeoutMs: 2_000,
  headersTimeoutMs: 60_000,
  bodyTimeoutMs: 60_000,
  keepAliveTimeoutMs: 30_000,
  keepAliveMaxTimeoutMs: 120_000,
  connectionsPerBackend: 256,
};

/** A replica as the proxy sees it: its pool, its balancer state, and its lifecycle. */
export class UpstreamBackend implements Balanced {
  outstanding = 0;
  ejectedUntil = 0;
  failures = 0;
  errors = 0;
  timeouts = 0;
  ejections = 0;
  ejected = false;
  /** Left the route table; the pool closes when `outstanding` reaches 0. */
  retired = false;
  private closing: Promise<void> | undefined;

  constructor(
    readonly id: string,
    readonly url: string,
    readonly pool: Pool,
  ) {}

  /** Marks one request as dispatched here (call right after choosing this backend). */
  acquire(): void {
    this.outstanding++;
  }

  /** Marks one request as finished; closes the pool if this was the last one of a retired backend. */
  release(): void {
    if (--this.outstanding === 0 && this.retired) void this.close();
  }

  /** Stops taking new requests here; the pool closes once in-flight requests finish. */
  retire(): void {
    this.retired = true;
    if (this.outstanding === 0) void this.close();
  }

  /** Closes the pool gracefully (undici lets queued requests finish first). Idempotent. */
  close(): Promise<void> {
    this.closing ??= this.pool.close().catch(() => undefined);
    return this.closing;
  }

  /** Closes at once, failing whatever is still in flight. */
  destroy(): Promise<void> {
    return this.pool.destroy().catch(() => undefined);
  }
}

/**
 * The set of live backends, by id. {@link prepare} is called with each new table's backends (at
 * compile time, never per request); it reuses the object — pool, connections and balancer state —
 * of every backend whose id and URL are unchanged.
 */
export class UpstreamPools {
  private readonly options: UpstreamOptions;
  private backends = new Map<string, UpstreamBackend>();

  constructor(options: Partial<UpstreamOptions> = {}) {
    this.options = { ...UPSTREAM_DEFAULTS, ...options };
  }

  /**
   * Returns the backend objects for a new table, creating pools for new backends. Backends that are
   * absent from `wanted` are retired only by {@link commit}, so a table that fails to compile
   * after this call changes nothing that is in use.
   */
  prepare(wanted: Iterable<Backend>): Map<string, UpstreamBackend> {
    const next = new Map<string, UpstreamBackend>();
    for (const { id, url } of wanted) {
      const seen = next.get(id);
      if (seen) {
        if (seen.url !== url) throw new Error(`backend '${id}' appears with two URLs: ${seen.url} and ${url}`);
        continue;
      }
      const current = this.backends.get(id);
      next.set(id, current && current.url === url && !current.retired ? current : this.create(id, url));
    }
    return next;
  }

  /** Makes `next` (from {@link prepare}) the live set; retires backends that are not in it. */
  commit(next: Map<string, UpstreamBackend>): void {
    for (const [id, backend] of this.backends) {
      if (next.get(id) !== backend) backend.retire();
    }
    this.backends = next;
  }

  /** Discards backends that {@link prepare} created for a table that was then not committed. */
  abandon(next: Map<string, UpstreamBackend>): void {
    for (const [id, backend] of next) {
      if (this.backends.get(id) !== backend) void backend.destroy();
    }
  }

  /** Closes every pool: gracefully, then forcefully after `graceMs`. */
  async close(graceMs: number): Promise<void> {
    const all = [...this.backends.values()];
    this.backends = new Map();
    for (const backend of all) backend.retired = true;
    const graceful = Promise.all(all.map((b) => b.close()));
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), graceMs)));
    if ((await Promise.race([graceful, late])) === 'late') await Promise.all(all.map((b) => b.destroy()));
    clearTimeout(timer);
  }

  private create(id: string, url: string): UpstreamBackend {
    const o = this.options;
    const pool = new Pool(new URL(url).origin, {
      connections: o.connectionsPerBackend,
      pipelining: 1,
      connectTimeout: o.connectTimeoutMs,
      headersTimeout: o.headersTimeoutMs,
      bodyTimeout: o.bodyTimeoutMs,
      keepAliveTimeout: o.keepAliveTimeoutMs,
      keepAliveMaxTimeout: o.keepAliveMaxTimeoutMs,
    });
    // Connection errors reach the request that hit them; the pool-level event is informational.
    pool.on('connectionError', () => {});
    return new UpstreamBackend(id, url, pool);
  }
}
