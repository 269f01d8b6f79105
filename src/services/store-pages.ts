/** Reads every page of a store list; for resyncs and compiles that need the whole set. */
import type { Resource, ResourceKind } from '../core/resources.js';
import type { ListOptions, Page } from '../store/store.js';

/** What {@link listAll} needs from a collection. */
export interface Listable<K extends ResourceKind> {
  list(options?: ListOptions<K>): Promise<Page<Resource<K>>>;
}

/**
 * Every object the list with `filter` returns, across pages.
 *
 * @example
 *   const deployments = await listAll(store.deployments, { environment: 'production' });
 */
export async function listAll<K extends ResourceKind>(
  collection: Listable<K>,
  filter: ListOptions<K> = {} as ListOptions<K>,
): Promise<Resource<K>[]> {
  const all: Resource<K>[] = [];
  let next: string | undefined;
  do {
    const page = await collection.list({ ...filter, limit: 1000, ...(next === undefined ? {} : { continue: next }) });
    all.push(...page.items);
    next = page.continue;
  } while (next !== undefined);
  return all;
}
