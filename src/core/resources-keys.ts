/**
 * How each resource kind is identified, keyed and filtered. The store keeps one string key per
 * object (unique within its kind) plus two indexed columns, `environment` and `parent`.
 *
 * A re-export barrel, kept as the import path: each kind's mapping is its `defineKind` definition in
 * its own file under `resources/`, and the tables here are derived from the registry there
 * (`resources/kinds.ts`).
 */
export { type IndexColumns, keyPart, splitKey } from './resources/define-kind.js';
export {
  KINDS,
  type KindDescriptor,
  resourceIdOfKey,
  resourceKey,
  type ResourceFilter,
  type ResourceFilters,
  type ResourceId,
  type ResourceIds,
} from './resources/kinds.js';
