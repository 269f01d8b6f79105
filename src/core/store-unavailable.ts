/**
 * Recognises "the store (database) cannot be reached right now" among thrown values: the driver's
 * socket and connection errors, which are no fault of the request. The API answers them with 503
 * and Retry-After (`api/errors.ts`), the caller may retry unchanged. It lives in core, not in the
 * store, because the API maps errors without importing the store; the store re-exports it.
 */

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
