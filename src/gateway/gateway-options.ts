/**
 * The gateway's settings: what `GatewayServer` accepts, the server-level defaults, and how
 * unset options take the defaults of each part (server, proxy, upstream pools, mirror, logs).
 */
import { ASSIGNMENT_LOG_SIZE } from './assignment-log.js';
import { EJECTION_LOG_SIZE } from './ejection-log.js';
import type { OnHold } from './hold-queue.js';
import { MIRROR_DEFAULTS, type MirrorOptions } from './mirror.js';
import { PROXY_DEFAULTS, type ProxyOptions } from './proxy.js';
import { parseOutlierDetection } from './table-validation.js';
import { UPSTREAM_DEFAULTS, type UpstreamOptions } from './upstream-pool.js';

/** Gateway settings; unset ones take {@link GATEWAY_DEFAULTS}, {@link PROXY_DEFAULTS} and {@link UPSTREAM_DEFAULTS}. */
export interface GatewayServerOptions extends Partial<Omit<ProxyOptions, 'headersTimeoutMs' | 'mirror'>> {
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  /** Idle time before the gateway closes a client's keep-alive connection. */
  keepAliveTimeoutMs?: number;
  /** Longest time a client may take to send a request's headers (408 and closed beyond). */
  clientHeadersTimeoutMs?: number;
  /** Longest time a client may take to send a whole request. */
  requestTimeoutMs?: number;
  /** Most client connections open at once; a new one beyond is answered 503 and closed (counted in `wharf_gateway_connections_refused_total`). */
  maxConnections?: number;
  /** How long `GatewayServer.stop` waits for in-flight requests before cutting them off. */
  shutdownGraceMs?: number;
  /** Replica pool settings (timeouts, connections). */
  upstream?: Partial<UpstreamOptions>;
  /** Mirroring bounds; unset ones take {@link MIRROR_DEFAULTS}. */
  mirror?: Partial<MirrorOptions>;
  /** Request ids remembered for `GatewayServer.assignment` (default {@link ASSIGNMENT_LOG_SIZE}). */
  assignmentLogSize?: number;
  /**
   * Scale from zero: called with a route that has `hold` when its first request is held, then at
   * most once per second while requests stay held. Should return at once (start a replica in the
   * background); what it throws is ignored.
   */
  onHold?: OnHold;
  /** Receives the gateway's log lines (ejections and readmissions); none when unset. */
  log?: (line: string) => void;
  /** Ejection events kept for `GatewayServer.ejectionsSince` (default {@link EJECTION_LOG_SIZE}). */
  ejectionLogSize?: number;
}

/** The HTTP server's own settings. */
export interface GatewayServerSettings {
  host: string;
  port: number;
  keepAliveTimeoutMs: number;
  clientHeadersTimeoutMs: number;
  requestTimeoutMs: number;
  maxConnections: number;
  shutdownGraceMs: number;
}

/**
 * Server-level defaults. Client connections are bounded for an inference hot path: headers within
 * 10 s, a whole request (16 MiB at most) within 60 s, keep-alive idle for 5 s.
 */
export const GATEWAY_DEFAULTS: Readonly<GatewayServerSettings> = {
  host: '127.0.0.1',
  port: 8080,
  keepAliveTimeoutMs: 5_000,
  clientHeadersTimeoutMs: 10_000,
  requestTimeoutMs: 60_000,
  maxConnections: 10_000,
  shutdownGraceMs: 30_000,
};

/** Every setting of a gateway, defaults applied. */
export interface ResolvedGatewayOptions {
  readonly server: GatewayServerSettings;
  readonly upstream: UpstreamOptions;
  readonly proxy: ProxyOptions;
  readonly assignmentLogSize: number;
  readonly ejectionLogSize: number;
  readonly onHold: OnHold | undefined;
  readonly log: ((line: string) => void) | undefined;
}

/**
 * Applies the defaults to `options` (an option set to undefined counts as unset).
 *
 * @throws InvalidArgumentError when `outlierDetection` breaks a rule of the route table's.
 */
export function resolveGatewayOptions(options: GatewayServerOptions): ResolvedGatewayOptions {
  const defined = Object.fromEntries(
    Object.entries(options).filter(([, v]) => v !== undefined),
  ) as GatewayServerOptions;
  const upstream = { ...UPSTREAM_DEFAULTS, ...defined.upstream };
  if (defined.outlierDetection !== undefined)
    parseOutlierDetection(defined.outlierDetection, 'gateway options.outlierDetection');
  return {
    server: { ...GATEWAY_DEFAULTS, ...pick(defined, Object.keys(GATEWAY_DEFAULTS)) },
    upstream,
    proxy: {
      ...PROXY_DEFAULTS,
      ...pick(defined, Object.keys(PROXY_DEFAULTS)),
      headersTimeoutMs: upstream.headersTimeoutMs,
      mirror: { ...MIRROR_DEFAULTS, ...defined.mirror },
    },
    assignmentLogSize: defined.assignmentLogSize ?? ASSIGNMENT_LOG_SIZE,
    ejectionLogSize: defined.ejectionLogSize ?? EJECTION_LOG_SIZE,
    onHold: defined.onHold,
    log: defined.log,
  };
}

function pick<T extends object>(o: T, keys: readonly string[]): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([k]) => keys.includes(k))) as Partial<T>;
}
