/**
 * How the proxy reads a failed attempt: which undici and OS error codes mean the request never got
 * a response (so it may be resent elsewhere), which mean the replica could not even be reached
 * (so it is ejected for a while), and which gateway error the client finally gets. Branches on
 * `err.code` only, never on messages.
 */
import { InvalidArgumentError } from '../core/errors.js';
import { UpstreamTimeoutError, UpstreamUnavailableError } from './errors.js';

/** Error codes (undici's and the OS's) meaning no response started and the attempt may be resent. */
export const RETRYABLE_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_CLOSED',
  'UND_ERR_DESTROYED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/** The subset of {@link RETRYABLE_CODES} where no connection opened: the replica is ejected for a while. */
export const CONNECT_FAILURES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'UND_ERR_CONNECT_TIMEOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/** What the last failed attempt was, for the client's error. */
export interface FailedAttempt {
  readonly code: string;
  readonly error: Error;
  readonly backendId: string;
  readonly environment: string;
  readonly deployment: string;
  /** Attempts made, the failed one included. */
  readonly attempts: number;
  /** The upstream headers timeout, for the 504 message. */
  readonly headersTimeoutMs: number;
}

/**
 * The error the client gets when no attempt produced a response: 504 for timeouts, 400 for a
 * request undici refuses to send, 502 otherwise.
 */
export function upstreamError(f: FailedAttempt): Error {
  const route = `deployment '${f.deployment}' in environment '${f.environment}'`;
  if (f.code === 'UND_ERR_HEADERS_TIMEOUT') {
    return new UpstreamTimeoutError(
      `replica '${f.backendId}' of ${route} did not answer within ${f.headersTimeoutMs} ms`,
    );
  }
  if (f.code === 'UND_ERR_INVALID_ARG')
    return new InvalidArgumentError(`request cannot be forwarded: ${f.error.message}`);
  const tries = `${f.attempts} attempt${f.attempts === 1 ? '' : 's'}`;
  const message = `could not get a response from ${route} (${tries}; last: replica '${f.backendId}' ${describe(f.code)})`;
  return f.code === 'UND_ERR_CONNECT_TIMEOUT' || f.code === 'ETIMEDOUT'
    ? new UpstreamTimeoutError(message)
    : new UpstreamUnavailableError(message);
}

function describe(code: string): string {
  switch (code) {
    case 'ECONNREFUSED':
      return 'refused the connection';
    case 'ECONNRESET':
    case 'EPIPE':
    case 'UND_ERR_SOCKET':
      return 'closed the connection before responding';
    case 'UND_ERR_CONNECT_TIMEOUT':
    case 'ETIMEDOUT':
      return 'did not accept a connection in time';
    case 'UND_ERR_CLOSED':
    case 'UND_ERR_DESTROYED':
      return 'left the route table';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'has a host name that does not resolve';
    case '':
      return 'failed';
    default:
      return `failed (${code})`;
  }
}
