/**
 * Errors with a stable `code` that callers branch on (never on the message), the closed list of
 * those codes ({@link ErrorCode}), and the one code -> HTTP status table ({@link HTTP_STATUS}) that
 * every HTTP edge uses: the API (`api/errors.ts`), the model server (`serving/http-errors.ts`) and
 * the gateway (`gateway/errors.ts`). The edges shape their bodies differently; the status of a code
 * is the same at all of them. The domain never picks a status.
 *
 * @example
 *   throw new InvalidArgumentError('inputs[0].shape[1]: must be a non-negative integer, got -3');
 */

/**
 * Every code a {@link WharfError} may carry. Closed: a subclass with a code not listed here does not
 * compile, and {@link HTTP_STATUS} must give each one a status.
 */
export const ERROR_CODES = [
  // The caller's request
  'INVALID_ARGUMENT',
  'UNAUTHENTICATED',
  'PERMISSION_DENIED',
  'POLICY_VIOLATION',
  'NOT_FOUND',
  'METHOD_NOT_ALLOWED',
  'PAYLOAD_TOO_LARGE',
  'RATE_LIMITED',
  // The store (store/errors.ts); the registry's errors reuse these
  'CONFLICT',
  'ALREADY_EXISTS',
  // The server's state or faults
  'UNAVAILABLE',
  'INSUFFICIENT_STORAGE',
  'INTERNAL',
  // The runtime (runtime/runtime-lifecycle.ts): an engine without the capability
  'NOT_SUPPORTED',
  // The controller (controller/reconciler.ts) and the metrics sources (metrics/prometheus-source.ts)
  'TERMINAL',
  'PROMETHEUS_QUERY',
  // The gateway (gateway/errors.ts)
  'ROUTE_NOT_FOUND',
  'NO_READY_REPLICA',
  'UPSTREAM_UNAVAILABLE',
  'UPSTREAM_TIMEOUT',
  'GATEWAY_UNAVAILABLE',
] as const;

/** One of {@link ERROR_CODES}. */
export type ErrorCode = (typeof ERROR_CODES)[number];

/**
 * The HTTP status of each code, at every edge. Codes that only arise inside the server (a terminal
 * reconcile failure, a failed Prometheus query) are server faults: 500.
 */
export const HTTP_STATUS: Readonly<Record<ErrorCode, number>> = {
  INVALID_ARGUMENT: 400,
  UNAUTHENTICATED: 401,
  PERMISSION_DENIED: 403,
  POLICY_VIOLATION: 403,
  NOT_FOUND: 404,
  ROUTE_NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  CONFLICT: 409,
  ALREADY_EXISTS: 409,
  PAYLOAD_TOO_LARGE: 413,
  RATE_LIMITED: 429,
  INTERNAL: 500,
  NOT_SUPPORTED: 501,
  TERMINAL: 500,
  PROMETHEUS_QUERY: 500,
  UPSTREAM_UNAVAILABLE: 502,
  UNAVAILABLE: 503,
  INSUFFICIENT_STORAGE: 507,
  NO_READY_REPLICA: 503,
  GATEWAY_UNAVAILABLE: 503,
  UPSTREAM_TIMEOUT: 504,
};

/**
 * The HTTP status for any thrown value: its code's status for a {@link WharfError}, else 500 (also
 * for a code smuggled past the type, e.g. from plain JavaScript).
 */
export function httpStatusOf(error: unknown): number {
  return (error instanceof WharfError ? HTTP_STATUS[error.code] : undefined) ?? 500;
}

/** An error with a stable {@link ErrorCode}; see the module comment. */
export abstract class WharfError extends Error {
  /** Stable machine-readable code, e.g. `INVALID_ARGUMENT`. */
  abstract readonly code: ErrorCode;
  override get name(): string {
    return this.constructor.name;
  }
}

/** The caller sent something that breaks a rule; the message names the field and the rule. */
export class InvalidArgumentError extends WharfError {
  readonly code = 'INVALID_ARGUMENT';
}

/** The named thing (model, version, route) does not exist. */
export class NotFoundError extends WharfError {
  readonly code = 'NOT_FOUND';
}

/** The resource exists but does not accept this method. */
export class MethodNotAllowedError extends WharfError {
  readonly code = 'METHOD_NOT_ALLOWED';
  constructor(
    message: string,
    /** Methods the resource does accept, for the `Allow` header. */
    readonly allowed: readonly string[],
  ) {
    super(message);
  }
}

/** The request body is larger than the configured limit. */
export class PayloadTooLargeError extends WharfError {
  readonly code = 'PAYLOAD_TOO_LARGE';
}

/** Temporarily unable to serve (loading, draining, overloaded); the caller may retry. */
export class UnavailableError extends WharfError {
  readonly code = 'UNAVAILABLE';
}

/**
 * The disk under the Wharf home (the registry's blobs, the SQLite store) has no room for this write
 * (`ENOSPC`, `EDQUOT`, `SQLITE_FULL`): 507, and nothing of the write was kept.
 */
export class InsufficientStorageError extends WharfError {
  readonly code = 'INSUFFICIENT_STORAGE';
}

/** Whether `error` (or its cause) says the disk is full: see {@link InsufficientStorageError}. */
export function isStorageFull(error: unknown, depth = 0): boolean {
  if (typeof error !== 'object' || error === null || depth > 5) return false;
  const { code, cause } = error as { code?: unknown; cause?: unknown };
  if (code === 'ENOSPC' || code === 'EDQUOT' || code === 'SQLITE_FULL') return true;
  return isStorageFull(cause, depth + 1);
}

/** The request carries no usable credential; the message says why, never what the credential was. */
export class UnauthenticatedError extends WharfError {
  readonly code = 'UNAUTHENTICATED';
}

/** The caller may not do this (e.g. approve a change they requested themselves). */
export class PermissionDeniedError extends WharfError {
  readonly code = 'PERMISSION_DENIED';
}

/**
 * The change breaks one or more of the environment's admission policies (`core/admission-policies.ts`);
 * nothing was changed. The message names each policy and rule; `violations` carries them as data.
 */
export class PolicyViolationError extends WharfError {
  readonly code = 'POLICY_VIOLATION';
  constructor(readonly violations: readonly { policy: string; rule: string; message: string }[]) {
    // The form of `describeViolation` in core/admission-policies.ts.
    super(violations.map((v) => `policies.${v.policy}: rule ${v.rule}: ${v.message}`).join('; '));
  }
}

/** The callee cannot do this at all (an engine without the capability); retrying will not help. */
export class NotSupportedError extends WharfError {
  readonly code = 'NOT_SUPPORTED';
}

/** The model runtime failed on input that passed validation: a server-side fault. */
export class InternalError extends WharfError {
  readonly code = 'INTERNAL';
}

/** True when `error` is a {@link WharfError} with this code (e.g. `NOT_FOUND`, `CONFLICT`). */
export function hasErrorCode(error: unknown, code: ErrorCode): boolean {
  return error instanceof WharfError && error.code === code;
}

/**
 * The value of a lookup that may find nothing: `undefined` for a `NOT_FOUND`, any other failure
 * passes through. The one way to treat "not found" as "absent" (not a try/catch, not a hand-written
 * `.catch`); to turn a `NOT_FOUND` into a better-worded error, test it with {@link hasErrorCode}.
 *
 * @example
 *   const state = await unlessNotFound(store.autoscalers.get(id));
 */
export function unlessNotFound<T>(lookup: Promise<T>): Promise<T | undefined> {
  return lookup.catch((error: unknown) => (hasErrorCode(error, 'NOT_FOUND') ? undefined : Promise.reject(error)));
}
