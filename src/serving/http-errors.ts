/**
 * Maps errors to the model server's responses, in one place at the edge; the status of each code is
 * the shared table in `core/errors.ts`. Anything that is not a known WharfError is a bug or a
 * runtime fault: it becomes a 500 with a one-line message and never a stack trace.
 */
import { httpStatusOf, WharfError } from '../core/errors.js';

/** The status and protocol error body (`{"error": "..."}`) for an error. */
export function toHttpError(err: unknown): { status: number; body: string } {
  if (err instanceof WharfError) {
    return { status: httpStatusOf(err), body: JSON.stringify({ error: err.message }) };
  }
  const message = err instanceof Error ? err.message.split('\n')[0] : String(err);
  return { status: 500, body: JSON.stringify({ error: `internal error: ${message}` }) };
}
