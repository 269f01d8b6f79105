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
// Which driver errors mean "the database cannot be reached": decided in core, so that the API's
// error mapping can recognise them without importing the store.
export { isStoreUnavailable } from '../core/store-unavailable.js';

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
