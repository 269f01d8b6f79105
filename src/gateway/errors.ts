/**
 * The gateway's errors and their HTTP mapping, in one place at the edge. Each error has a stable
 * `code` (branch on it, never on the message); {@link errorStatus} turns a code into a status (the
 * shared table in `core/errors.ts`) and {@link sendError} writes the protocol error body
 * `{"error": "..."}` — never a stack trace.
 */
import type { ServerResponse } from 'node:http';
import { httpStatusOf, WharfError } from '../core/errors.js';

/** No route for `/<environment>/<deployment>`, or no endpoint under it. */
export class RouteNotFoundError extends WharfError {
  readonly code = 'ROUTE_NOT_FOUND';
}

/** The route exists but none of its targets has a ready replica. Clients may retry later. */
export class NoReadyReplicaError extends WharfError {
  readonly code = 'NO_READY_REPLICA';
}

/** Every attempt failed before a response started (refused, reset, closed). */
export class UpstreamUnavailableError extends WharfError {
  readonly code = 'UPSTREAM_UNAVAILABLE';
}

/** The replica did not connect or answer in time. */
export class UpstreamTimeoutError extends WharfError {
  readonly code = 'UPSTREAM_TIMEOUT';
}

/** The gateway is not ready (no route table yet) or is shutting down. */
export class GatewayUnavailableError extends WharfError {
  readonly code = 'GATEWAY_UNAVAILABLE';
}

/** A valid token that is not scoped to the route it was sent to. */
export class TokenScopeError extends WharfError {
  readonly code = 'PERMISSION_DENIED';
}

/** The caller's token bucket on the route is empty; `Retry-After` says when a request fits again. */
export class RateLimitedError extends WharfError {
  readonly code = 'RATE_LIMITED';
}

/** The HTTP status for an error; 500 for anything that is not a known {@link WharfError}. */
export function errorStatus(err: unknown): number {
  return httpStatusOf(err);
}

/** Extra response headers that go with an error response. */
export interface ErrorHeaders {
  /** Seconds, sent as `Retry-After` with 503s. */
  retryAfter?: number;
  /** Send `connection: close` (e.g. after a 413, when the rest of the body is unread). */
  close?: boolean;
  /** `Allow` header for 405s. */
  allow?: string;
  /** The request id, echoed as `x-request-id`. */
  requestId?: string;
  /** `WWW-Authenticate` challenge for 401s (RFC 6750: `Bearer`, with an error when a token was sent). */
  wwwAuthenticate?: string;
}

/**
 * Answers `res` with the error's status and `{"error": message}`, unless headers already went out
 * (then the response is cut off: the client sees a truncated body rather than a wrong one).
 * Returns the status sent.
 */
export function sendError(res: ServerResponse, err: unknown, extra: ErrorHeaders = {}): number {
  const status = errorStatus(err);
  if (res.headersSent) {
    res.destroy();
    return status;
  }
  const message =
    err instanceof WharfError
      ? err.message
      : `internal error: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`;
  const body = JSON.stringify({ error: message });
  const headers: Record<string, string | number> = {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
  };
  if (extra.retryAfter !== undefined) headers['retry-after'] = extra.retryAfter;
  if (extra.close) headers.connection = 'close';
  if (extra.allow !== undefined) headers.allow = extra.allow;
  if (extra.requestId !== undefined) headers['x-request-id'] = extra.requestId;
  if (extra.wwwAuthenticate !== undefined) headers['www-authenticate'] = extra.wwwAuthenticate;
  res.writeHead(status, headers);
  res.end(body);
  return status;
}
