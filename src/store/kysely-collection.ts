/**
 * CRUD for one resource kind over the `objects` table, with optimistic concurrency and a change row
 * per write. The same code serves the store (each write its own transaction) and a transaction
 * handle (writes join it): {@link CollectionContext} says which. Everything kind-specific (key,
 * index columns, list filter) comes from the kind's definition (`core/resources/`), so the same
 * class serves every kind, including one that is not in the registry.
 */
import type { Kysely, Transaction } from 'kysely';
import { InvalidArgumentError, NotFoundError } from '../core/errors.js';
import type { KindDefinition } from '../core/resources/define-kind.js';
import type { StoredFields, Unstored } from '../core/resources/stored.js';
import { AlreadyExistsError, ConflictError } from './errors.js';
import type { StoreSchema } from './schema.js';
import type { Page, PageOptions } from './store.js';

const DEFAULT_LIMIT = 100;
const MAX_LIMIT = 1000;

/**
 * The write half of one database transaction. The first write locks the `changes` counter row and
 * reads it; later writes number themselves from memory; {@link finish} stores the last number.
 * Holding that row lock until commit is what makes sequences commit in order on PostgreSQL (SQLite
 * has one writer anyway), so a watcher reading `sequence > cursor` never skips a late commit.
 */
export class WriteContext {
  #first: number | undefined;
  #last: number | undefined;
  #open = true;

  constructor(readonly trx: Transaction<StoreSchema>) {}

  /** Throws once the transaction has ended: a `tx` handle must not escape its callback. */
  assertOpen(): void {
    if (!this.#open) throw new Error('store transaction has ended; use the tx handle only inside its callback');
  }

  /** The sequence the next successful write takes (not consumed until {@link record}). */
  async nextSequence(): Promise<number> {
    this.assertOpen();
    if (this.#last === undefined) {
      const row = await this.trx
        .updateTable('counters')
        .set((eb) => ({ value: eb.ref('value') }))
        .where('name', '=', 'changes')
        .returning('value')
        .executeTakeFirstOrThrow();
      this.#first = this.#last = Number(row.value);
    }
    return this.#last + 1;
  }

  /** Appends the change row of a successful write and consumes its sequence. */
  async record(sequence: number, kind: string, key: string, type: 'created' | 'updated' | 'deleted'): Promise<void> {
    await this.trx.insertInto('changes').values({ sequence, kind, key, type, resource_version: sequence }).execute();
    this.#last = sequence;
  }

  /** Whether a write of this transaction has consumed a sequence (so it will commit a change). */
  get wrote(): boolean {
    return this.#last !== undefined && this.#last !== this.#first;
  }

  /** Stores the counter and ends the handle; returns the last sequence written, if any. */
  async finish(): Promise<number | undefined> {
    this.assertOpen();
    if (this.#last !== this.#first && this.#last !== undefined) {
      await this.trx.updateTable('counters').set({ value: this.#last }).where('name', '=', 'changes').execute();
    }
    this.close();
    return this.#last === this.#first ? undefined : this.#last;
  }

  close(): void {
    this.#open = false;
  }
}

/** Where a collection reads and how it writes. */
export interface CollectionContext {
  /** The handle reads go to (the store's pool, or the open transaction). */
  reader(): Kysely<StoreSchema>;
  /** Runs `fn` inside a transaction (a new one, or the open one). */
  write<R>(fn: (w: WriteContext) => Promise<R>): Promise<R>;
}

interface Row {
  doc: unknown;
  resource_version: number;
}

function toResource<T extends StoredFields>(row: Row): T {
  const doc = (typeof row.doc === 'string' ? JSON.parse(row.doc) : row.doc) as T;
  return { ...doc, resourceVersion: Number(row.resource_version) };
}

/**
 * The continue token of a list that resumes after `key`: for callers that page through a kind by
 * key and filter on their own (the audit list resumes after the last event it returned).
 */
export function continueAfterKey(key: string): string {
  return encodeContinue(key);
}

function encodeContinue(key: string): string {
  return Buffer.from(JSON.stringify({ after: key })).toString('base64url');
}

function decodeContinue(token: string): string {
  try {
    const value = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { after?: unknown };
    // A NUL would reach PostgreSQL, which refuses it in text: a forged token is a 400, not a 500.
    if (typeof value.after === 'string' && !value.after.includes('\0')) return value.after;
  } catch {
    // fall through to the error below
  }
  throw new InvalidArgumentError('continue: not a token returned by a previous list');
}

/**
 * The collection of one kind (objects `T`, identified by `Id`, listed with `Filter`) over a
 * {@link CollectionContext}; for a registered kind it is that kind's `Collection` of `store.ts`.
 */
export class KyselyCollection<T extends StoredFields, Id, Filter extends object> {
  readonly #kind: string;
  readonly #ctx: CollectionContext;
  readonly #describe: KindDefinition<T, Id, Filter>;

  constructor(definition: KindDefinition<T, Id, Filter>, ctx: CollectionContext) {
    this.#kind = definition.kind;
    this.#ctx = ctx;
    this.#describe = definition;
  }

  async get(id: Id): Promise<T> {
    const key = this.#describe.key(id);
    const row = await this.#ctx
      .reader()
      .selectFrom('objects')
      .select(['doc', 'resource_version'])
      .where('kind', '=', this.#kind)
      .where('key', '=', key)
      .executeTakeFirst();
    if (row === undefined) throw new NotFoundError(`${this.#kind} ${key} not found`);
    return toResource(row);
  }

  async list(options: Filter & PageOptions = {} as Filter & PageOptions): Promise<Page<T>> {
    const limit = options.limit ?? DEFAULT_LIMIT;
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) {
      throw new InvalidArgumentError(`limit: must be an integer from 1 to ${MAX_LIMIT}, got ${limit}`);
    }
    const { environment, parent } = this.#describe.filter(options);
    let query = this.#ctx
      .reader()
      .selectFrom('objects')
      .select(['key', 'doc', 'resource_version'])
      .where('kind', '=', this.#kind);
    if (environment !== undefined) query = query.where('environment', '=', environment);
    if (parent !== undefined) query = query.where('parent', '=', parent);
    if (options.continue !== undefined) query = query.where('key', '>', decodeContinue(options.continue));
    const rows = await query
      .orderBy('key')
      .limit(limit + 1)
      .execute();
    const items = rows.slice(0, limit).map((row) => toResource<T>(row));
    const last = rows.length > limit ? rows[limit - 1] : undefined;
    return last === undefined ? { items } : { items, continue: encodeContinue(last.key) };
  }

  async create(object: Unstored<T>): Promise<T> {
    const key = this.#describe.key(this.#describe.id(object));
    const json = documentOf(object);
    return this.#ctx.write(async (w) => {
      const sequence = await w.nextSequence();
      const inserted = await w.trx
        .insertInto('objects')
        .values({ kind: this.#kind, key, resource_version: sequence, ...this.#describe.index(object), doc: json })
        .onConflict((oc) => oc.columns(['kind', 'key']).doNothing())
        .returning('key')
        .executeTakeFirst();
      if (inserted === undefined) throw new AlreadyExistsError(this.#kind, key);
      await w.record(sequence, this.#kind, key, 'created');
      return toResource<T>({ doc: json, resource_version: sequence });
    });
  }

  async update(object: T): Promise<T> {
    const key = this.#describe.key(this.#describe.id(object));
    const expected = object.resourceVersion;
    if (!Number.isSafeInteger(expected))
      throw new InvalidArgumentError('resourceVersion: required on update (the version you read)');
    const json = documentOf(object);
    return this.#ctx.write(async (w) => {
      const sequence = await w.nextSequence();
      const updated = await w.trx
        .updateTable('objects')
        .set({ resource_version: sequence, ...this.#describe.index(object), doc: json })
        .where('kind', '=', this.#kind)
        .where('key', '=', key)
        .where('resource_version', '=', expected)
        .returning('key')
        .executeTakeFirst();
      if (updated === undefined) await this.#explainMiss(w, key, expected);
      await w.record(sequence, this.#kind, key, 'updated');
      return toResource<T>({ doc: json, resource_version: sequence });
    });
  }

  async delete(id: Id, expectedResourceVersion?: number): Promise<void> {
    const key = this.#describe.key(id);
    return this.#ctx.write(async (w) => {
      const sequence = await w.nextSequence();
      let query = w.trx.deleteFrom('objects').where('kind', '=', this.#kind).where('key', '=', key);
      if (expectedResourceVersion !== undefined) query = query.where('resource_version', '=', expectedResourceVersion);
      const deleted = await query.returning('key').executeTakeFirst();
      if (deleted === undefined) await this.#explainMiss(w, key, expectedResourceVersion);
      await w.record(sequence, this.#kind, key, 'deleted');
    });
  }

  /** A conditional write matched no row: throws NOT_FOUND or CONFLICT, whichever it was. */
  async #explainMiss(w: WriteContext, key: string, expected: number | undefined): Promise<never> {
    const row = await w.trx
      .selectFrom('objects')
      .select('resource_version')
      .where('kind', '=', this.#kind)
      .where('key', '=', key)
      .executeTakeFirst();
    if (row === undefined || expected === undefined) throw new NotFoundError(`${this.#kind} ${key} not found`);
    throw new ConflictError(this.#kind, key, expected, Number(row.resource_version));
  }
}

/** The stored document: the object without the store-owned `resourceVersion` (kept in its column). */
function documentOf(object: object): string {
  const { resourceVersion: _, ...doc } = object as { resourceVersion?: unknown };
  return JSON.stringify(doc);
}
