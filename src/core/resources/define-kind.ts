/**
 * How a resource kind is declared: one `defineKind` call, in the kind's own file beside its types,
 * says how the store identifies, keys, indexes and filters it and what its collection on the Store is
 * called. The registry (`kinds.ts`) lists the definitions; the store's key tables, the Store's
 * collections and the Kysely store are derived from that list, so a new kind costs its file and one
 * registry line. Pure: no I/O.
 *
 * The store keeps one string key per object (unique within its kind) plus two indexed columns,
 * `environment` and `parent` (see `store/schema.ts`); a definition maps its kind's fields onto them.
 */
import { InvalidArgumentError } from '../errors.js';
import type { StoredFields, Unstored } from './stored.js';

/** The indexed columns the store keeps beside each document. */
export interface IndexColumns {
  environment: string | null;
  parent: string | null;
}

/** The columns of a kind that is never listed by anything but its key. */
export const NO_INDEX: IndexColumns = { environment: null, parent: null };

/**
 * One kind, as the store sees it: objects of type `T`, identified by `Id`, listed with filter `Filter`.
 * `Kind` is its name in change rows and errors, `Name` its collection's property on the Store.
 */
export interface KindDefinition<
  T extends StoredFields,
  Id,
  Filter extends object,
  Kind extends string = string,
  Name extends string = string,
  AppendOnly extends boolean = boolean,
> {
  /** e.g. `ModelVersion`: the `kind` of change-feed rows and the word in NOT_FOUND messages. */
  readonly kind: Kind;
  /** The Store's property for this kind's collection, e.g. `modelVersions`. */
  readonly collection: Name;
  /** Objects are immutable once created: the collection has no `update`. */
  readonly appendOnly: AppendOnly;
  /** The string key of an id; throws {@link InvalidArgumentError} for an unusable id. */
  key(id: Id): string;
  /** The id behind a key (as found in a change-feed row); the inverse of {@link key}. */
  idOfKey(key: string): Id;
  /** The id fields of an object. */
  id(object: Unstored<T>): Id;
  /** The indexed columns of an object. */
  index(object: Unstored<T>): IndexColumns;
  /** The indexed-column conditions of a list filter. */
  filter(filter: Filter): Partial<IndexColumns>;
}

/** What {@link defineKind} is given: a {@link KindDefinition} whose `appendOnly` may be left out (false). */
export type KindSpec<
  T extends StoredFields,
  Id,
  Filter extends object,
  Kind extends string,
  Name extends string,
  AppendOnly extends boolean,
> = Omit<KindDefinition<T, Id, Filter, Kind, Name, AppendOnly>, 'appendOnly'> & { appendOnly?: AppendOnly };

/**
 * Declares a kind. Curried so that the types are named (`T`, its id and its list filter) while the
 * kind's name, collection and `appendOnly` are taken as literal types from the spec.
 *
 * @example
 *   export const modelKind = defineKind<Model, string>()({
 *     kind: 'Model',
 *     collection: 'models',
 *     key: (name) => keyPart('name', name),
 *     idOfKey: (key) => key,
 *     id: (o) => o.name,
 *     index: () => NO_INDEX,
 *     filter: () => ({}),
 *   });
 */
export function defineKind<T extends StoredFields, Id, Filter extends object = object>() {
  return <const Kind extends string, const Name extends string, const AppendOnly extends boolean = false>(
    spec: KindSpec<T, Id, Filter, Kind, Name, AppendOnly>,
  ): KindDefinition<T, Id, Filter, Kind, Name, AppendOnly> =>
    Object.freeze({ ...spec, appendOnly: (spec.appendOnly ?? false) as AppendOnly });
}

/** Any kind's definition, for code that handles every kind alike (the Kysely collection). */
export type AnyKindDefinition = KindDefinition<StoredFields, unknown, object>;

/** The object type of a definition. */
export type TypeOfKind<D> = D extends KindDefinition<infer T, infer _Id, infer _F> ? T : never;
/** The id type of a definition. */
export type IdOfKind<D> = D extends KindDefinition<infer _T, infer Id, infer _F> ? Id : never;
/** The list filter of a definition. */
export type FilterOfKind<D> = D extends KindDefinition<infer _T, infer _Id, infer F> ? F : never;

/** One part of a key: a non-empty string without `/` (the separator of composite keys). */
export function keyPart(field: string, value: string): string {
  if (typeof value !== 'string' || value === '') throw new InvalidArgumentError(`${field}: must be a non-empty string`);
  if (value.includes('/'))
    throw new InvalidArgumentError(`${field}: must not contain '/', got ${JSON.stringify(value)}`);
  return value;
}

/** A two-part key's parts, split at its first `/` (the inverse of `${head}/${tail}`). */
export function splitKey(key: string): [head: string, tail: string] {
  const slash = key.indexOf('/');
  return [key.slice(0, slash), key.slice(slash + 1)];
}
