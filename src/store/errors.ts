/**
 * Store errors, each with a stable `code` to branch on. A missing object is the shared
 * {@link NotFoundError} (`NOT_FOUND`) from `core/errors`, re-exported here for convenience.
 *
 * @example
 *   try { await store.deployments.update(d); }
 *   catch (e) { if (e instanceof WharfError && e.code === 'CONFLICT') { re-read and retry } else throw e; }
 */
import { WharfError } from '../core/errors.js';

export { NotFoundError } from '../core/errors.js';

/** An update or delete named a `resourceVersion` that is no longer current: someone else wrote first. */
export class ConflictError extends WharfError {
  readonly code = 'CONFLICT';
  constructor(
    /** The kind's name: a `ResourceKind` for the registry's kinds, any definition's `kind` otherwise. */
    readonly kind: string,
    readonly key: string,
    /** The version the caller read. */
    readonly expected: number,
    /** The version now stored. */
    readonly actual: number,
  ) {
    super(`${kind} ${key}: resourceVersion ${expected} is stale (now ${actual}); read it again and retry`);
  }
}

/** A create named a key that already exists. */
export class AlreadyExistsError extends WharfError {
  readonly code = 'ALREADY_EXISTS';
  constructor(
    /** The kind's name: a `ResourceKind` for the registry's kinds, any definition's `kind` otherwise. */
    readonly kind: string,
    readonly key: string,
  ) {
    super(`${kind} ${key} already exists`);
  }
}

// Error codes that mean "the database cannot be reached right now", not "the request is wrong":
// socket errors, PostgreSQL SQLSTATE class 08 (connection exception), 57P01-57P03 (the server is
// shutting down, crashed or starting), 53300 (too many connections), and SQLite's busy/locked.
const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  '57P01',
  '57P02',
  '57P03',
  '53300',
]);
// What pg says without a code when a connection drops or cannot be made in time.
const UNREACHABLE_MESSAGES =
  /^(Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error and is not queryable)/;

/**
 * True when `error` (or its cause, or one of an AggregateError's errors) says the store is out of
 * reach for now: the API answers 503 with Retry-After, and the caller may retry unchanged.
 */
export function isStoreUnavailable(error: unknown, depth = 0): boolean {
  if (typeof error !== 'object' || error === null || depth > 5) return false;
  const { code, message, cause, errors } = error as {
    code?: unknown;
    message?: unknown;
    cause?: unknown;
    errors?: unknown;
  };
  if (
    typeof code === 'string' &&
    (UNREACHABLE_CODES.has(code) ||
      (code.startsWith('08') && code.length === 5) ||
      code.startsWith('SQLITE_BUSY') ||
      code.startsWith('SQLITE_LOCKED'))
  )
    return true;
  if (typeof message === 'string' && UNREACHABLE_MESSAGES.test(message)) return true;
  if (Array.isArray(errors) && errors.some((e) => isStoreUnavailable(e, depth + 1))) return true;
  return isStoreUnavailable(cause, depth + 1);
}
