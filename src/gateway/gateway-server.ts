/**
 * The gateway: a plain `node:http` server in front of the model replicas. It routes
 * `/<environment>/<deployment>/...` with the current compiled route table, answers `/healthz`
 * (live), `/readyz` (has a table) and `/metrics` (Prometheus text) itself, and swaps tables
 * atomically: a request keeps the table it was routed with, and pools of replicas that left the
 * table close once their in-flight requests finish. For rollouts it also answers, in process,
 * {@link GatewayServer.snapshot} (cumulative counters per revision, per mirrored revision and per
 * route, and the recent ejection events) and {@link GatewayServer.assignment} (which revision
 * served a recent request id). Routes with `hold` keep requests while they have no replica and
 * call `onHold` so that the owner can start one (scale from zero). Application routes are also
 * found by host name (`<deployment>.<environment>.<domain>`, the whole path forwarded, before the
 * gateway's own endpoints), and their `Upgrade` requests (WebSocket) are relayed (upgrade.ts).
 *
 * @example
 *   const gateway = new GatewayServer({ port: 0 });
 *   await gateway.start();
 *   gateway.setTable({ version: 1, routes: [...] });
 *   // POST `${gateway.url}/production/readmission/v2/models/readmission/infer`
 *   await gateway.stop();
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { performance } from 'node:perf_hooks';
import { MethodNotAllowedError } from '../core/errors.js';
import { applyConnectionLimits, LISTEN_BACKLOG, serverOptions } from '../core/http-server-limits.js';
import { type Assignment, AssignmentLog } from './assignment-log.js';
import { type CompiledTable, compileTable } from './compiled-table.js';
import { applicationPath, decodePrefix, findRoute, hostRoute, routeEnd } from './route-lookup.js';
import { UpgradeRelay } from './upgrade.js';
import { EjectionLog } from './ejection-log.js';
import { GatewayUnavailableError, RouteNotFoundError, sendError } from './errors.js';
import { type GatewayServerOptions, type GatewayServerSettings, resolveGatewayOptions } from './gateway-options.js';
import type { EjectionEvent, GatewaySnapshot } from '../protocol/gateway-snapshot.js';
import { HoldQueues } from './hold-queue.js';
import { GatewayMetrics } from './metrics.js';
import { Mirrors } from './mirror.js';
import { OutlierDetector } from './outlier-detection.js';
import { Proxy } from './proxy.js';
import { type RouteRateLimit, type RouteTable, routeBasePath } from '../protocol/route-table.js';
import { RouteComposer } from './route-composer.js';
import { ShadowComparer } from './shadow-comparer.js';
import { UpstreamPools } from './upstream-pool.js';

export { GATEWAY_DEFAULTS, type GatewayServerOptions } from './gateway-options.js';

const LOCAL_METHODS = ['GET', 'HEAD'];

/** The rate limits of a table's routes, by prefix: the buckets the composer keeps. */
function rateLimits(table: RouteTable): Map<string, RouteRateLimit> {
  const limits = new Map<string, RouteRateLimit>();
  for (const r of table.routes)
    if (r.rateLimit !== undefined) limits.set(routeBasePath(r.environment, r.deployment), r.rateLimit);
  return limits;
}

/** One gateway process's HTTP server, route table and upstream pools. */
export class GatewayServer {
  /** Metrics, also served at `/metrics`. */
  readonly metrics = new GatewayMetrics();
  private readonly options: GatewayServerSettings;
  private readonly http: Server;
  private readonly pools: UpstreamPools;
  private readonly proxy: Proxy;
  private readonly comparer = new ShadowComparer();
  private readonly assignments: AssignmentLog;
  private readonly ejections: EjectionLog;
  private readonly holds: HoldQueues;
  /** Gives each route of a new table its filters and observers. */
  private readonly composer: RouteComposer;
  /** WebSocket (and other) upgrades of application routes. */
  private readonly upgrades: UpgradeRelay;
  private table: CompiledTable | undefined;
  private state: 'new' | 'running' | 'stopping' | 'stopped' = 'new';

  constructor(options: GatewayServerOptions = {}) {
    const resolved = resolveGatewayOptions(options);
    this.options = resolved.server;
    this.pools = new UpstreamPools(resolved.upstream);
    this.assignments = new AssignmentLog(resolved.assignmentLogSize);
    const proxyOptions = resolved.proxy;
    this.ejections = new EjectionLog(resolved.ejectionLogSize, resolved.log);
    this.holds = new HoldQueues(resolved.onHold);
    const outliers = new OutlierDetector(this.ejections, proxyOptions.ejection);
    this.proxy = new Proxy(proxyOptions, this.metrics, () => this.table, this.holds);
    this.composer = new RouteComposer({
      outliers,
      assignments: this.assignments,
      mirrors: new Mirrors(proxyOptions.mirror, this.comparer, outliers),
      holds: this.holds,
    });
    const limits = {
      headersTimeoutMs: this.options.clientHeadersTimeoutMs,
      requestTimeoutMs: this.options.requestTimeoutMs,
      keepAliveTimeoutMs: this.options.keepAliveTimeoutMs,
      maxConnections: this.options.maxConnections,
    };
    this.http = createServer(serverOptions(limits), (req, res) => this.handle(req, res));
    this.upgrades = new UpgradeRelay({
      holds: this.holds,
      maxAttempts: proxyOptions.maxAttempts,
      retryAfterSeconds: proxyOptions.retryAfterSeconds,
    });
    this.http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) =>
      this.upgrades.handle(req, socket, head, this.state === 'running' ? this.table : undefined, this.state),
    );
    applyConnectionLimits(this.http, limits, () => this.metrics.connectionsRefused++);
  }

  /** Base URL, e.g. http://127.0.0.1:8080, once started. */
  get url(): string {
    const addr = this.http.address() as AddressInfo | null;
    if (!addr) throw new Error('the gateway is not listening');
    const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
    return `http://${host}:${addr.port}`;
  }

  /** Version of the route table in use; undefined before the first. */
  get tableVersion(): number | undefined {
    return this.table?.version;
  }

  /** Ready = running with a route table. */
  get ready(): boolean {
    return this.state === 'running' && this.table !== undefined;
  }

  /** Starts listening. Rejects if the port is taken. */
  async start(): Promise<void> {
    if (this.state !== 'new') throw new Error(`the gateway cannot start: it is ${this.state}`);
    await new Promise<void>((resolve, reject) => {
      this.http.once('error', (err: NodeJS.ErrnoException) => {
        reject(
          err.code === 'EADDRINUSE'
            ? new Error(`port ${this.options.port} on ${this.options.host} is already in use`)
            : err,
        );
      });
      this.http.listen({ port: this.options.port, host: this.options.host, backlog: LISTEN_BACKLOG }, () => resolve());
    });
    this.state = 'running';
  }

  /**
   * Compiles and installs `table`. Atomic: requests already routed finish on the backends they
   * were given; new requests see only the new table. Throws (and keeps the current table) when
   * the table breaks a rule.
   */
  setTable(table: RouteTable): void {
    if (this.state === 'stopping' || this.state === 'stopped')
      throw new GatewayUnavailableError('the gateway is stopping');
    const prepared = compileTable(
      table,
      this.pools,
      this.metrics,
      (features) => this.composer.compose(features),
      this.proxy.options,
    );
    this.table = prepared.table;
    prepared.commit();
    this.composer.retain(rateLimits(table));
    // Scale from zero: requests held for a route that now has a replica go out, oldest first.
    this.holds.retry(prepared.table);
  }

  /**
   * Cumulative counters per (environment, deployment, revision) of the current table, the shadow
   * comparison counters of every mirrored revision and the gauges and counters of every route that
   * has had traffic, as plain numbers; plus the most recent ejection events.
   */
  snapshot(): GatewaySnapshot {
    return { ...this.metrics.snapshot(), ejections: this.ejections.recent() };
  }

  /**
   * Ejection events with `seq` greater than `seq` (oldest first, among the last `ejectionLogSize`):
   * pass the last `seq` seen, or 0 for all that are kept.
   */
  ejectionsSince(seq: number): EjectionEvent[] {
    return this.ejections.since(seq);
  }

  /**
   * Which revision served the request with this `x-request-id` (echoed on every response), among
   * the last `assignmentLogSize` requests of routes that choose between revisions (a match, a sticky
   * key or a split of two or more); undefined when unknown or forgotten. Ids longer than 128
   * characters are not remembered.
   */
  assignment(requestId: string): Assignment | undefined {
    return this.assignments.get(requestId);
  }

  /**
   * Graceful stop: stop accepting connections, report unready, let in-flight requests finish (up
   * to `shutdownGraceMs`), close client connections, then close the upstream pools.
   */
  async stop(): Promise<void> {
    if (this.state === 'stopped' || this.state === 'stopping') return;
    const wasListening = this.state === 'running';
    this.state = 'stopping';
    const deadline = performance.now() + this.options.shutdownGraceMs;
    const closed = wasListening ? new Promise<void>((resolve) => this.http.close(() => resolve())) : Promise.resolve();
    // Held requests would wait for a replica that this gateway will no longer forward to.
    this.holds.abortAll();
    // Requests still in flight hold their connections; everything else can go now.
    while (this.metrics.inFlight > 0 && performance.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 5));
    this.http.closeAllConnections();
    this.upgrades.closeAll();
    await closed;
    await this.pools.close(Math.max(0, deadline - performance.now()));
    await this.comparer.close();
    this.state = 'stopped';
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const started = performance.now();
    this.metrics.inFlight++;
    if (this.state !== 'running') res.setHeader('connection', 'close');
    const url = req.url!;
    const table = this.table;
    // An application's host name: the whole path is its own (its /healthz and /metrics too).
    if (table !== undefined && table.hosts.size > 0) {
      const byHost = hostRoute(table, req.headers.host);
      if (byHost !== undefined) return this.proxy.forward(req, res, table, byHost, url, started, true);
    }
    const end = routeEnd(url);
    if (end === -1) return this.local(req, res, url);
    if (table === undefined)
      return this.unrouted(res, new GatewayUnavailableError('the gateway has no route table yet'));
    const prefix = url.slice(0, end);
    const route = findRoute(table, prefix);
    if (route === undefined) {
      const parts = decodePrefix(prefix);
      return this.unrouted(
        res,
        new RouteNotFoundError(
          parts
            ? `no route for deployment '${parts.deployment}' in environment '${parts.environment}'`
            : `no route for ${JSON.stringify(prefix.slice(0, 200))}; paths are /<environment>/<deployment>/v2/...`,
        ),
      );
    }
    if (route.application) return this.proxy.forward(req, res, table, route, applicationPath(url, end), started);
    if (end === url.length) {
      return this.unrouted(
        res,
        new RouteNotFoundError(
          `no endpoint at ${route.prefix}; use ${route.prefix}/v2/models/${encodeURIComponent(route.deployment)}/infer and the other Open Inference Protocol paths under it`,
        ),
      );
    }
    this.proxy.forward(req, res, table, route, url.slice(end), started);
  }

  /** Single-segment paths: the gateway's own endpoints, or 404. */
  private local(req: IncomingMessage, res: ServerResponse, url: string): void {
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    if (path !== '/healthz' && path !== '/readyz' && path !== '/metrics') {
      return this.unrouted(
        res,
        new RouteNotFoundError(
          `no route for ${JSON.stringify(path.slice(0, 200))}; paths are /<environment>/<deployment>/v2/...`,
        ),
      );
    }
    if (!LOCAL_METHODS.includes(req.method ?? '')) {
      return this.unrouted(
        res,
        new MethodNotAllowedError(`${req.method} is not allowed on ${path}; use GET or HEAD`, LOCAL_METHODS),
        LOCAL_METHODS.join(', '),
      );
    }
    if (path === '/healthz') return this.json(res, 200, '{"live":true}');
    if (path === '/readyz') {
      const ready = this.ready;
      return this.json(res, ready ? 200 : 503, JSON.stringify({ ready, tableVersion: this.table?.version ?? null }));
    }
    void this.metrics.render().then(
      ({ contentType, body }) => {
        res.writeHead(200, { 'content-type': contentType, 'content-length': Buffer.byteLength(body) });
        res.end(body);
        this.metrics.inFlight--;
      },
      (err: unknown) => this.unrouted(res, err),
    );
  }

  private json(res: ServerResponse, status: number, body: string): void {
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
    this.metrics.inFlight--;
  }

  private unrouted(res: ServerResponse, err: unknown, allow?: string): void {
    const status = sendError(
      res,
      err,
      err instanceof GatewayUnavailableError
        ? { retryAfter: this.proxy.options.retryAfterSeconds }
        : allow
          ? { allow }
          : {},
    );
    this.metrics.unroutedRequest(status);
    this.metrics.inFlight--;
  }
}
