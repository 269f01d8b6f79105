/**
 * WebSocket upgrades (any HTTP/1.1 `Upgrade`) through the gateway, for application routes. The
 * request is routed as any other: found by host name or prefix, through the route's filters (token
 * check, rate limit, and the hold queue of scale from zero: a held upgrade waits for a replica like
 * a held request), to the revision that the same rules pick (header/cookie match, sticky key,
 * weighted split). Then the gateway opens a connection to a replica of that revision, sends the
 * request head (headers as for any application request, see forwarded-headers.ts, plus
 * `Connection: Upgrade` and the client's `Upgrade`), and pipes the two sockets both ways until
 * either side closes. The replica's answer is passed on as it is: a 101 switches protocols, any
 * other status is the application's refusal. A replica that cannot be reached is tried once more on
 * another one of the revision; then the client gets 502.
 *
 * Counted on the revision's stats by the status of the replica's answer, with the time to it; the
 * sockets are tracked so that a gateway stop closes them (no connection outlives the gateway).
 */
import { randomUUID } from 'node:crypto';
import { type IncomingMessage, STATUS_CODES } from 'node:http';
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import { InvalidArgumentError, type WharfError } from '../core/errors.js';
import { pickBackend } from './balancer.js';
import type { CompiledRoute, CompiledTable, CompiledTarget } from './compiled-table.js';
import {
  errorStatus,
  GatewayUnavailableError,
  NoReadyReplicaError,
  RouteNotFoundError,
  UpstreamUnavailableError,
} from './errors.js';
import { applicationHeaders } from './forwarded-headers.js';
import { applicationPath, findRoute, hostRoute, routeEnd } from './route-lookup.js';
import type { HoldQueues } from './hold-queue.js';
import type { FilteredRequest, RejectHeaders, ResponseTap } from './route-pipeline.js';
import { chooseTarget } from './route-choice.js';
import { RETRYABLE_CODES } from './upstream-errors.js';
import type { UpstreamBackend } from './upstream-pool.js';

/** What the relay needs of the gateway. */
export interface UpgradeParts {
  readonly holds: HoldQueues;
  /** Attempts per upgrade, the first included. */
  readonly maxAttempts: number;
  readonly retryAfterSeconds: number;
}

/** Upgrades of one gateway. */
export class UpgradeRelay {
  private readonly sockets = new Set<Duplex>();

  constructor(readonly parts: UpgradeParts) {}

  /** Open upgraded connections (client and replica sides). */
  get open(): number {
    return this.sockets.size;
  }

  /**
   * Relays an upgrade for `route` (an application route of `table`); `path` is what the replica
   * gets (the remainder after the prefix, or the whole path when `byHost`).
   */
  relay(req: IncomingMessage, socket: Duplex, head: Buffer, route: CompiledRoute, path: string, byHost: boolean): void {
    this.track(socket);
    route.routeStats.arrivals++;
    new UpgradeRequest(this, req, socket, head, route, path, byHost).begin();
  }

  /**
   * An `Upgrade` request: relayed for an application route (found by host name or prefix), refused
   * otherwise (503 without a table or while stopping, 404 without a route, 400 for a model's).
   */
  handle(req: IncomingMessage, socket: Duplex, head: Buffer, table: CompiledTable | undefined, state: string): void {
    if (table === undefined)
      return this.refuse(
        socket,
        new GatewayUnavailableError(
          state === 'running' ? 'the gateway has no route table yet' : `the gateway is ${state}`,
        ),
        this.parts.retryAfterSeconds,
      );
    const url = req.url!;
    const byHost = hostRoute(table, req.headers.host);
    if (byHost !== undefined) return this.relay(req, socket, head, byHost, url, true);
    const end = routeEnd(url);
    const route = end === -1 ? undefined : findRoute(table, url.slice(0, end));
    if (route === undefined)
      return this.refuse(socket, new RouteNotFoundError(`no route for ${JSON.stringify(url.slice(0, 200))}`));
    if (!route.application)
      return this.refuse(
        socket,
        new InvalidArgumentError(
          `Upgrade: deployment '${route.deployment}' is a model; only applications accept protocol upgrades (WebSocket)`,
        ),
      );
    this.relay(req, socket, head, route, applicationPath(url, end), false);
  }

  /** Answers an upgrade that goes nowhere (no table, no route, a model's route) with `err`. */
  refuse(socket: Duplex, err: WharfError, retryAfter?: number): void {
    this.track(socket);
    writeError(socket, err, { retryAfter });
  }

  /** Keeps `socket` until it closes. */
  track(socket: Duplex): void {
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    socket.on('error', () => socket.destroy());
  }

  /** Gateway stop: closes every upgraded connection. */
  closeAll(): void {
    for (const socket of this.sockets) socket.destroy();
  }
}

/** One upgrade: the route's filters see it as a request (and may hold it), then the sockets are piped. */
class UpgradeRequest implements FilteredRequest {
  readonly requestId: string;
  readonly headers: string[];
  readonly body = null;
  readonly started = performance.now();
  target: CompiledTarget | undefined;
  attempts = 0;
  tap: ResponseTap | undefined;
  waiting = false;
  tokenId: string | undefined;
  rateCounted = false;
  private done = false;

  constructor(
    private readonly relayer: UpgradeRelay,
    private readonly req: IncomingMessage,
    private readonly socket: Duplex,
    private readonly head: Buffer,
    public route: CompiledRoute,
    readonly path: string,
    byHost: boolean,
  ) {
    this.requestId = (req.headers['x-request-id'] as string | undefined) || randomUUID();
    const prefix = byHost ? undefined : route.prefix;
    this.headers = applicationHeaders(req, { requestId: this.requestId, protectedRoute: route.protectedRoute, prefix });
    this.headers.push('connection', 'Upgrade', 'upgrade', req.headers.upgrade ?? 'websocket');
    this.target = chooseTarget(route, req.headers);
    socket.once('close', () => {
      this.done = true;
      this.leaveHold();
    });
  }

  get method(): string {
    return this.req.method!;
  }

  get authorization(): string | undefined {
    return this.req.headers.authorization;
  }

  get clientAddress(): string {
    return this.req.socket.remoteAddress ?? '';
  }

  begin(): void {
    for (const filter of this.route.pipeline.filters) if (!filter.admit(this)) return;
    if (this.waiting) return;
    if (this.target === undefined) return this.noReplica(this.route);
    this.connect(this.target, undefined);
  }

  reject(error: Error, headers: RejectHeaders): void {
    this.end(error, headers);
  }

  noReplica(route: CompiledRoute, message = route.noReplicaMessage): void {
    route.routeStats.noReadyReplica++;
    this.end(new NoReadyReplicaError(message), { retryAfter: this.relayer.parts.retryAfterSeconds });
  }

  retry(table: CompiledTable, route: CompiledRoute | undefined): boolean {
    if (route === undefined) {
      this.leaveHold();
      this.end(new RouteNotFoundError(`no route for ${this.route.prefix} (removed while the upgrade was held)`), {});
      return true;
    }
    const target = chooseTarget(route, this.req.headers);
    if (target === undefined && route.hold !== undefined) return false;
    this.leaveHold();
    this.route = route;
    if (target === undefined) this.noReplica(route);
    else this.connect(target, undefined);
    return true;
  }

  expire(): void {
    this.leaveHold();
    this.route.routeStats.holdRejected++;
    this.noReplica(this.route, this.route.holdTimeoutMessage);
  }

  abort(): void {
    this.leaveHold();
    this.end(new GatewayUnavailableError('the gateway is stopping'), {
      retryAfter: this.relayer.parts.retryAfterSeconds,
    });
  }

  /** Opens a connection to a replica of `target` (avoiding `avoid`) and sends the request head. */
  private connect(target: CompiledTarget, avoid: UpstreamBackend | undefined): void {
    if (this.done) return;
    this.target = target;
    this.attempts++;
    target.stats.attempts++;
    if (this.attempts > 1) target.stats.retries++;
    const backend = pickBackend(target.backends, performance.now(), avoid)!;
    backend.acquire();
    let released = false;
    const release = (): void => {
      if (!released) backend.release();
      released = true;
    };
    const url = new URL(backend.url);
    const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
    const upstream =
      url.protocol === 'https:'
        ? tls.connect({ host: url.hostname, port, servername: url.hostname })
        : net.connect({ host: url.hostname, port });
    this.relayer.track(upstream);
    let connected = false;
    upstream.once(url.protocol === 'https:' ? 'secureConnect' : 'connect', () => {
      connected = true;
      if (this.done) return upstream.destroy();
      upstream.write(this.requestHead(url.host));
      if (this.head.length > 0) upstream.write(this.head);
      upstream.once('data', (first: Buffer) => {
        const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(first.subarray(0, 16).toString('latin1'))?.[1] ?? 0);
        target.stats.observe(status === 0 ? 502 : status, (performance.now() - this.started) / 1000);
        this.done = true;
        this.socket.write(first);
        this.socket.pipe(upstream);
        upstream.pipe(this.socket);
      });
    });
    upstream.once('error', (err: NodeJS.ErrnoException) => {
      release();
      if (connected || this.done) return this.socket.destroy();
      const again = RETRYABLE_CODES.has(err.code ?? '') && this.attempts < this.relayer.parts.maxAttempts;
      if (again) return this.connect(target, backend);
      this.end(
        new UpstreamUnavailableError(
          `replica '${backend.id}' of deployment '${this.route.deployment}' in environment '${this.route.environment}' could not be reached for the upgrade (${err.code ?? err.message})`,
        ),
        {},
      );
    });
    upstream.once('close', () => {
      release();
      // A connection that failed before connecting may be retried: the client stays.
      if (connected) this.socket.destroy();
    });
    this.socket.once('close', () => upstream.destroy());
  }

  /** `GET <path> HTTP/1.1`, the replica's `Host`, then the forwarded headers. */
  private requestHead(host: string): string {
    let head = `${this.method} ${this.path} HTTP/1.1\r\nhost: ${host}\r\n`;
    const h = this.headers;
    for (let i = 0; i < h.length; i += 2) head += `${h[i]}: ${h[i + 1]}\r\n`;
    return `${head}\r\n`;
  }

  /** Answers the upgrade with `error` and closes the connection. */
  private end(error: Error, headers: RejectHeaders): void {
    if (this.done) return;
    this.done = true;
    const status = writeError(this.socket, error, { ...headers, requestId: this.requestId });
    (this.target?.stats ?? this.route.unassigned).observe(status, (performance.now() - this.started) / 1000);
  }

  private leaveHold(): void {
    if (!this.waiting) return;
    this.waiting = false;
    this.relayer.parts.holds.remove(this, this.route.prefix);
  }
}

/** Writes the gateway's error answer (`{"error": message}`) on a raw socket and ends it; returns the status. */
function writeError(socket: Duplex, err: Error, extra: RejectHeaders & { requestId?: string }): number {
  const status = errorStatus(err);
  const body = JSON.stringify({ error: err.message });
  let head = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n`;
  if (extra.retryAfter !== undefined) head += `retry-after: ${extra.retryAfter}\r\n`;
  if (extra.wwwAuthenticate !== undefined) head += `www-authenticate: ${extra.wwwAuthenticate}\r\n`;
  if (extra.requestId !== undefined) head += `x-request-id: ${extra.requestId}\r\n`;
  socket.end(`${head}\r\n${body}`);
  return status;
}
