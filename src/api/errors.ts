/**
 * Maps errors to the API's error document `{"error": {"code", "message", "field"?}}`, in one place.
 * Codes are the stable `code` of WharfError (INVALID_ARGUMENT, NOT_FOUND, CONFLICT, …), their
 * statuses the shared table in `core/errors.ts`; anything else is an internal error whose details
 * stay in the server log, never in the response.
 */
import type { ZodError } from 'zod';
import {
  httpStatusOf,
  InsufficientStorageError,
  isStorageFull,
  MethodNotAllowedError,
  PolicyViolationError,
  WharfError,
} from '../core/errors.js';
import { isStoreUnavailable } from '../core/store-unavailable.js';

/** Seconds a client is asked to wait (`Retry-After`) when the store cannot be reached. */
export const STORE_RETRY_AFTER_SECONDS = 5;

/** The API's error body. */
export interface ApiErrorBody {
  error: {
    code: string;
    message: string;
    field?: string;
    details?: { field: string; message: string }[];
    /** `POLICY_VIOLATION`: every broken rule, by policy. */
    violations?: { policy: string; rule: string; message: string }[];
  };
}

/**
 * Status, body and extra headers for any thrown value (`Allow` for a {@link MethodNotAllowedError},
 * `Retry-After` for an unreachable store). `log` receives unexpected errors.
 */
export function toApiError(
  err: unknown,
  log: (e: unknown) => void = () => {},
): { status: number; body: ApiErrorBody; headers?: Record<string, string> } {
  if (isStoreUnavailable(err)) {
    // An outage, not a fault of this request: one line in the log (no stack), and a 503 that says
    // when to try again. Checked first: a store error may arrive wrapped in a WharfError's cause.
    log(`store unavailable: ${(err as Error).message}`);
    const message = `the store (database) cannot be reached right now; retry in ${STORE_RETRY_AFTER_SECONDS} s`;
    return {
      status: 503,
      body: { error: { code: 'UNAVAILABLE', message } },
      headers: { 'retry-after': String(STORE_RETRY_AFTER_SECONDS) },
    };
  }
  if (isStorageFull(err) && !(err instanceof WharfError)) {
    // The disk under the home is full (a store write, say): 507 naming the cause, not a 500.
    log(`disk full: ${(err as Error).message}`);
    return toApiError(
      new InsufficientStorageError("storage: the control plane's disk is full; free space under its home and retry"),
    );
  }
  if (err instanceof WharfError) {
    const field = /^([A-Za-z_][\w.[\]-]*): /.exec(err.message)?.[1];
    const body: ApiErrorBody = { error: { code: err.code, message: err.message, ...(field ? { field } : {}) } };
    const status = httpStatusOf(err);
    if (err instanceof PolicyViolationError) body.error.violations = err.violations.map((v) => ({ ...v }));
    if (err instanceof MethodNotAllowedError) return { status, body, headers: { allow: err.allowed.join(', ') } };
    return { status, body };
  }
  log(err);
  return { status: 500, body: { error: { code: 'INTERNAL', message: 'internal error; see the control plane log' } } };
}

/** A schema validation failure as a 400 naming the first offending field (all are in `details`). */
export function fromZodError(error: ZodError, where: 'body' | 'query' | 'path'): ApiErrorBody {
  const details = error.issues.map((issue) => {
    const field = issue.path.length > 0 ? issue.path.map(String).join('.') : where;
    const message = issue.code === 'unrecognized_keys' ? `unknown field(s): ${issue.keys.join(', ')}` : issue.message;
    return { field, message };
  });
  const first = details[0] ?? { field: where, message: 'invalid' };
  return {
    error: { code: 'INVALID_ARGUMENT', message: `${first.field}: ${first.message}`, field: first.field, details },
  };
}
