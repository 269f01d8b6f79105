/**
 * Maps errors to HTTP statuses, in one place at the edge. Anything that is not a known WharfError is
 * a bug or a runtime fault: it becomes a 500 with a one-line message and never a stack trace.
 */
import { WharfError } from '../core/errors.js';

const STATUS_BY_CODE: Record<string, number> = {
  INVALID_ARGUMENT: 400,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  PAYLOAD_TOO_LARGE: 413,
  UNAVAILABLE: 503,
  INTERNAL: 500,
};

/** The status and protocol error body (`{"error": "..."}`) for an error. */
export function toHttpError(err: unknown): { status: number; body: string } {
  if (err instanceof WharfError) {
    return { status: STATUS_BY_CODE[err.code] ?? 500, body: JSON.stringify({ error: err.message }) };
  }
  const message = err instanceof Error ? err.message.split('\n')[0] : String(err);
  return { status: 500, body: JSON.stringify({ error: `internal error: ${message}` }) };
}
