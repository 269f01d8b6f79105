/**
 * The Store: typed access to the control plane's resources, with optimistic concurrency,
 * transactions and a change feed. Implemented once over Kysely (`kysely-store.ts`) for SQLite and
 * PostgreSQL; `open-store.ts` picks one. Every implementation passes `test/store-contract.test.ts`.
 *
 * Errors: `NOT_FOUND`, `ALREADY_EXISTS`, `CONFLICT` (see `errors.ts`), `INVALID_ARGUMENT` for a bad
 * id, limit or continue token.
 */
import type { AuditDraft } from '../core/audit/chain.js';
import type { AuditEvent } from '../core/resources/audit-event.js';
import type { NewResource, Resource, ResourceKind } from '../core/resources.js';
import type { KindDefinitions } from '../core/resources/kinds.js';
import type { ResourceFilter, ResourceId } from '../core/resources-keys.js';

/** What a backend can do; branch on these, never on the implementation's class. */
export interface StoreCapabilities {
  /** Several processes (control-plane replicas) may share the database. SQLite: false. */
  readonly multiProcess: boolean;
}

/** One page of a list, in key order. */
export interface Page<T> {
  items: T[];
  /** Pass as `continue` to get the next page; absent on the last page. Opaque. */
  continue?: string;
}

/** List options: a page size, where to continue, and the kind's filters (e.g. `environment`). */
export type ListOptions<K extends ResourceKind> = ResourceFilter<K> & PageOptions;

/** Where a list starts and how much it returns. */
export interface PageOptions {
  /** 1 … 1000; default 100. */
  limit?: number;
  continue?: string;
}

/** Typed CRUD for one kind. Writes outside {@link Store.transaction} are each their own transaction. */
export interface Collection<K extends ResourceKind> {
  /** Throws `NOT_FOUND`. */
  get(id: ResourceId<K>): Promise<Resource<K>>;
  list(options?: ListOptions<K>): Promise<Page<Resource<K>>>;
  /** Stores a new object and returns it with its `resourceVersion`. Throws `ALREADY_EXISTS`. */
  create(object: NewResource<K>): Promise<Resource<K>>;
  /**
   * Replaces the object if `object.resourceVersion` (the version the caller read) is still
   * current; returns it with its new `resourceVersion`. Throws `CONFLICT` or `NOT_FOUND`.
   */
  update(object: Resource<K>): Promise<Resource<K>>;
  /** Deletes; when `expectedResourceVersion` is given, only if still current. Throws `CONFLICT`, `NOT_FOUND`. */
  delete(id: ResourceId<K>, expectedResourceVersion?: number): Promise<void>;
}

/** Revisions and events are immutable: no update. */
export type AppendOnlyCollection<K extends ResourceKind> = Omit<Collection<K>, 'update'>;

/**
 * The collections, on the store or inside a transaction: one per registered kind, named by its
 * definition's `collection` (`environments`, `modelVersions`, …), without `update` where the kind is
 * append-only (`revisions`, `events`, `incidents`).
 */
export type StoreCollections = {
  readonly [K in ResourceKind as KindDefinitions[K]['collection']]: KindDefinitions[K]['appendOnly'] extends true
    ? AppendOnlyCollection<K>
    : Collection<K>;
};

/** One row of the change feed: a write to one object, committed. */
export interface Change {
  /** Position in the feed: gap-free in practice, strictly increasing, in commit order. */
  sequence: number;
  kind: ResourceKind;
  /** The object's store key; `resourceIdOfKey(kind, key)` gives its id. */
  key: string;
  type: 'created' | 'updated' | 'deleted';
  /** The object's version after this write (for `deleted`, the deletion's). Equals `sequence`. */
  resourceVersion: number;
}

/** Where a watch starts and what stops it. */
export interface WatchOptions {
  /** Deliver changes with `sequence > since`; default: only changes after the watch starts. */
  since?: number;
  /** Only these kinds. */
  kinds?: readonly ResourceKind[];
  /** Aborting ends the iteration normally (no error). Closing the store does too. */
  signal?: AbortSignal;
}

/** The store. Call {@link Store.close} when done. */
export interface Store extends StoreCollections {
  readonly backend: 'sqlite' | 'postgres';
  readonly capabilities: StoreCapabilities;
  /** Migrations this open applied, e.g. `['0001-initial']`; empty when the schema was current. */
  readonly appliedMigrations: readonly string[];
  /**
   * Runs `fn` in one database transaction: all its writes (and their change rows) commit together,
   * or none does if it throws. Inside `fn` use only `tx`; the store itself rejects calls there.
   *
   * @example
   *   await store.transaction(async (tx) => {
   *     const d = await tx.deployments.update({ ...current, revision: n });
   *     await tx.revisions.create({ deployment: d.id, number: n, spec, createdAt, createdBy, reason });
   *   });
   */
  transaction<R>(fn: (tx: StoreCollections) => Promise<R>): Promise<R>;
  /**
   * Appends an audit event in a transaction of its own (an audited request that wrote nothing: a
   * denied attempt, a failure, a secret read). The events of requests that change something are
   * appended by the change's own transaction instead: while a request context carries a pending
   * event (`core/request-context.ts`), the first write transaction that commits a change carries it.
   */
  appendAuditEvent(draft: AuditDraft): Promise<AuditEvent>;
  /** Committed changes with `sequence > since`, oldest first, at most `limit` (default 500). */
  changes(since: number, options?: { limit?: number; kinds?: readonly ResourceKind[] }): Promise<Change[]>;
  /** The newest committed sequence (0 when empty): read it before a full list, then watch from it. */
  latestSequence(): Promise<number>;
  /**
   * Every change after `since`, in order, exactly once, waiting for new ones as they commit
   * (woken by the database's notification, with a periodic poll as a safety net). A database error
   * ends it with that error; resume with `since` = the last sequence you handled.
   */
  watch(options?: WatchOptions): AsyncIterable<Change>;
  /** Ends every watch and releases connections. */
  close(): Promise<void>;
}
