/**
 * The one implementation of {@link Store}, over any Kysely dialect. Backends (`sqlite/`,
 * `postgres/`) open the database, run migrations and pass the few things that differ as hooks:
 * how write transactions are serialised in-process, what runs just before commit (PostgreSQL's
 * NOTIFY), and how watchers hear about commits from other processes.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Kysely, Transaction } from 'kysely';
import type { AuditDraft } from '../core/audit/chain.js';
import { InvalidArgumentError } from '../core/errors.js';
import { type PendingAudit, pendingAudit } from '../core/request-context.js';
import type { AuditEvent } from '../core/resources/audit-event.js';
import type { ResourceKind } from '../core/resources.js';
import { KIND_DEFINITIONS } from '../core/resources/kinds.js';
import type { StoredFields } from '../core/resources/stored.js';
import { appendAuditEvent } from './audit-append.js';
import { type ChangeNotifier, watchChanges } from './change-feed.js';
import { type CollectionContext, KyselyCollection, WriteContext } from './kysely-collection.js';
import type { StoreSchema } from './schema.js';
import type { Change, Store, StoreCapabilities, StoreCollections, WatchOptions } from './store.js';

const DEFAULT_CHANGES_LIMIT = 500;

/** What a backend hands to {@link kyselyStore}. */
export interface KyselyStoreConfig {
  db: Kysely<StoreSchema>;
  backend: Store['backend'];
  capabilities: StoreCapabilities;
  appliedMigrations: readonly string[];
  /** Wakes this process's watchers; the store notifies it after each committed write. */
  notifier: ChangeNotifier;
  /** Longest a watcher sleeps without a notification. */
  pollIntervalMs: number;
  /** Wraps every write transaction (SQLite: an in-process lock per database file). */
  serializeWrites?: <R>(fn: () => Promise<R>) => Promise<R>;
  /** Runs inside a write transaction after its change rows, given the last sequence (PostgreSQL: NOTIFY). */
  beforeCommit?: (trx: Transaction<StoreSchema>, lastSequence: number) => Promise<void>;
  /** Resolves once notifications from other processes are being received. */
  watchReady?: () => Promise<void>;
  /** Releases what the backend opened besides `db`. */
  close?: () => Promise<void>;
}

/**
 * One collection per kind of the registry, under its definition's `collection` name: a new kind
 * needs no line here. The cast is where the value meets the mapped type `StoreCollections`.
 */
function collections(ctx: CollectionContext): StoreCollections {
  const entries = KIND_DEFINITIONS.map((definition): [string, unknown] => [
    definition.collection,
    new KyselyCollection<StoredFields, unknown, object>(definition, ctx),
  ]);
  return Object.fromEntries(entries) as StoreCollections;
}

/** The collections of an open write transaction: reads and writes join it. */
function transactionCollections(w: WriteContext): StoreCollections {
  return collections({
    reader: () => {
      w.assertOpen();
      return w.trx;
    },
    write: (inner) => {
      w.assertOpen();
      return inner(w);
    },
  });
}

/**
 * The {@link Store} over Kysely; backends call this from their `open…Store`.
 *
 * @example
 *   return kyselyStore({ db, backend: 'sqlite', capabilities: { multiProcess: false }, … });
 */
export function kyselyStore(config: KyselyStoreConfig): Store {
  // The constructor has copied the registry's collections onto the instance (see below).
  return new KyselyStore(config) as KyselyStore & StoreCollections;
}

/**
 * Everything of the {@link Store} but its collections, which the constructor copies onto the
 * instance from {@link collections}: their names come from the kind registry, so none is named here.
 */
class KyselyStore implements Omit<Store, keyof StoreCollections> {
  readonly backend: Store['backend'];
  readonly capabilities: StoreCapabilities;
  readonly appliedMigrations: readonly string[];

  readonly #config: KyselyStoreConfig;
  readonly #closed = new AbortController();
  // Set while a transaction callback runs: the store itself must not be used there (on SQLite its one
  // connection is held by the transaction, so the call would wait forever).
  readonly #inTransaction = new AsyncLocalStorage<true>();

  constructor(config: KyselyStoreConfig) {
    this.#config = config;
    this.backend = config.backend;
    this.capabilities = config.capabilities;
    this.appliedMigrations = config.appliedMigrations;
    const root = collections({
      reader: () => {
        this.#assertUsable();
        return config.db;
      },
      write: (fn) => this.#write(fn),
    });
    Object.assign(this, root);
  }

  transaction<R>(fn: (tx: StoreCollections) => Promise<R>): Promise<R> {
    return this.#write((w) => this.#inTransaction.run(true, () => fn(transactionCollections(w))));
  }

  appendAuditEvent(draft: AuditDraft): Promise<AuditEvent> {
    return this.#write(async (w) => {
      await w.nextSequence(); // the write lock, before the head is read
      return appendAuditEvent(transactionCollections(w), draft);
    }, false);
  }

  async changes(since: number, options: { limit?: number; kinds?: readonly ResourceKind[] } = {}): Promise<Change[]> {
    const limit = options.limit ?? DEFAULT_CHANGES_LIMIT;
    if (!Number.isSafeInteger(since) || since < 0)
      throw new InvalidArgumentError(`since: must be a non-negative integer, got ${since}`);
    if (!Number.isInteger(limit) || limit < 1)
      throw new InvalidArgumentError(`limit: must be a positive integer, got ${limit}`);
    this.#assertUsable();
    let query = this.#config.db.selectFrom('changes').selectAll().where('sequence', '>', since);
    if (options.kinds !== undefined) {
      if (options.kinds.length === 0) return [];
      query = query.where('kind', 'in', options.kinds);
    }
    const rows = await query.orderBy('sequence').limit(limit).execute();
    return rows.map((r) => ({
      sequence: Number(r.sequence),
      kind: r.kind as ResourceKind,
      key: r.key,
      type: r.type,
      resourceVersion: Number(r.resource_version),
    }));
  }

  async latestSequence(): Promise<number> {
    this.#assertUsable();
    const row = await this.#config.db
      .selectFrom('counters')
      .select('value')
      .where('name', '=', 'changes')
      .executeTakeFirstOrThrow();
    return Number(row.value);
  }

  watch(options: WatchOptions = {}): AsyncIterable<Change> {
    this.#assertUsable();
    const signals = options.signal === undefined ? [this.#closed.signal] : [this.#closed.signal, options.signal];
    const { notifier, pollIntervalMs, watchReady } = this.#config;
    return watchChanges(
      { changes: (since, o) => this.changes(since, o), latestSequence: () => this.latestSequence() },
      { notifier, pollIntervalMs, ready: watchReady },
      { ...options, signal: AbortSignal.any(signals) },
    );
  }

  async close(): Promise<void> {
    if (this.#closed.signal.aborted) return;
    this.#closed.abort();
    try {
      await this.#config.close?.();
    } finally {
      await this.#config.db.destroy();
    }
  }

  #assertUsable(): void {
    if (this.#closed.signal.aborted) throw new Error('store is closed');
    if (this.#inTransaction.getStore() === true) {
      throw new Error('store used inside its own transaction callback; use the tx handle passed to the callback');
    }
  }

  /**
   * Runs `fn` in a new transaction; notifies watchers after a commit that wrote something. When an
   * audited request is being served (`auditable`, and its event still pending), a transaction that
   * wrote something also appends that event to the audit chain before it commits: the change and
   * its event commit together or not at all.
   */
  async #write<R>(fn: (w: WriteContext) => Promise<R>, auditable = true): Promise<R> {
    this.#assertUsable();
    const { db, serializeWrites, beforeCommit, notifier } = this.#config;
    let carried: PendingAudit | undefined;
    const run = (): Promise<{ result: R; last: number | undefined; seq?: number }> =>
      db.transaction().execute(async (trx) => {
        const w = new WriteContext(trx);
        try {
          const result = await fn(w);
          const audit = auditable && w.wrote ? pendingAudit() : undefined;
          let seq: number | undefined;
          if (audit !== undefined) {
            carried = audit;
            audit.state = 'writing';
            seq = (await appendAuditEvent(transactionCollections(w), audit.draft)).seq;
          }
          const last = await w.finish();
          if (last !== undefined) await beforeCommit?.(trx, last);
          return { result, last, seq };
        } finally {
          w.close();
        }
      });
    let outcome: { result: R; last: number | undefined; seq?: number };
    try {
      outcome = await (serializeWrites === undefined ? run() : serializeWrites(run));
    } catch (e) {
      // Rolled back: the event is not in the chain; a later write of the request (or the API's
      // audit middleware, after the route) writes it.
      if (carried?.state === 'writing') carried.state = 'pending';
      throw e;
    }
    if (carried !== undefined) {
      carried.state = 'written';
      carried.seq = outcome.seq;
    }
    if (outcome.last !== undefined) notifier.notify();
    return outcome.result;
  }
}
