/**
 * The model server's settings: the options a caller (the `serve-model` CLI, tests) passes, the
 * defaults filled in for the ones left unset, and the client connection bounds.
 */
import type { ConnectionLimits } from '../core/http-server-limits.js';
import type { FaultInjection } from './executor.js';

/** Model server settings; defaults are declared in {@link DEFAULTS}. */
export interface ModelServerOptions {
  modelPath: string;
  name: string;
  version?: string;
  host?: string;
  port?: number;
  /** Batching on unless false; it is off anyway for models with a fixed first dimension. */
  batching?: boolean;
  maxBatchSize?: number;
  maxBatchDelayUs?: number;
  maxBodyBytes?: number;
  /** How long shutdown waits for in-flight requests, in milliseconds. */
  gracePeriodMs?: number;
  intraOpThreads?: number;
  /** Cap on ONNX Runtime threads (`--threads`, set by the local runtime from a cpu limit). */
  maxThreads?: number;
  /** Client connection bounds (headers and request timeouts, keep-alive idle, most open); defaults in {@link CONNECTION_DEFAULTS}. */
  connections?: Partial<ConnectionLimits>;
  /** Test-only faults; see {@link FaultInjection}. */
  faults?: FaultInjection;
}

export const DEFAULTS = {
  version: '1',
  host: '127.0.0.1',
  port: 8000,
  batching: true,
  maxBatchSize: 64,
  maxBatchDelayUs: 0,
  maxBodyBytes: 16 * 1024 * 1024,
  gracePeriodMs: 30_000,
} as const;

/**
 * Client connections, bounded for an inference hot path: headers within 10 s, a whole request
 * within 60 s, keep-alive idle for 5 s (the gateway's pools follow the server's hint), and at most
 * 4096 open (the gateway opens up to 256 per replica).
 */
export const CONNECTION_DEFAULTS: Readonly<ConnectionLimits> = {
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 60_000,
  keepAliveTimeoutMs: 5_000,
  maxConnections: 4096,
};

export type ResolvedOptions = ModelServerOptions & {
  -readonly [K in keyof typeof DEFAULTS]: (typeof DEFAULTS)[K] extends number
    ? number
    : (typeof DEFAULTS)[K] extends boolean
      ? boolean
      : string;
};

/** The entries of `o` that are set (so a spread over defaults keeps the defaults for the rest). */
export function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
