/**
 * Errors with a stable `code` that callers branch on (never on the message). The HTTP edge maps
 * codes to statuses in one place (`src/serving/http-errors.ts`); the domain never picks a status.
 *
 * @example
 *   throw new InvalidArgumentError('inputs[0].shape[1]: must be a non-negative integer, got -3');
 */
export abstract class WharfError extends Error {
  /** Stable machine-readable code, e.g. `INVALID_ARGUMENT`. */
  abstract readonly code: string;
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

/** The callee cannot do this at all (an engine without the capability); retrying will not help. */
export class NotSupportedError extends WharfError {
  readonly code = 'NOT_SUPPORTED';
}

/** The model runtime failed on input that passed validation: a server-side fault. */
export class InternalError extends WharfError {
  readonly code = 'INTERNAL';
}

/** True when `error` is a {@link WharfError} with this code (e.g. `NOT_FOUND`, `CONFLICT`). */
export function hasErrorCode(error: unknown, code: string): boolean {
  return error instanceof WharfError && error.code === code;
}

/**
 * The value of a lookup that may find nothing: `undefined` for a `NOT_FOUND`, any other failure
 * passes through.
 *
 * @example
 *   const state = await unlessNotFound(store.autoscalers.get(id));
 */
export function unlessNotFound<T>(lookup: Promise<T>): Promise<T | undefined> {
  return lookup.catch((error: unknown) => (hasErrorCode(error, 'NOT_FOUND') ? undefined : Promise.reject(error)));
}
