/**
 * The registry of resource kinds: the one list of every kind's definition (each declared in its own
 * file with `defineKind`), and the tables derived from it by type and by value — kind names, object
 * types, ids, list filters, the store key of an id and back. A new kind is its file plus one line in
 * {@link KIND_DEFINITIONS}; the Store's collections (`store/store.ts`) and the Kysely store follow
 * from this list. Pure: no I/O.
 */
import { analysisTemplateKind } from './analysis-template.js';
import { apiTokenKind } from './api-token.js';
import { approvalKind } from './approval.js';
import { auditCheckpointKind, auditEventKind, auditHeadKind } from './audit-event.js';
import { autoscalerKind } from './autoscaler-state.js';
import { bundleVersionKind } from './bundle-version.js';
import type { FilterOfKind, IdOfKind, KindDefinition, TypeOfKind } from './define-kind.js';
import { deploymentEventKind } from './deployment-event.js';
import { deploymentKind } from './deployment.js';
import { environmentKind } from './environment.js';
import { feedbackKind } from './feedback.js';
import { incidentKind } from './incident.js';
import { modelVersionKind } from './model-version.js';
import { modelKind } from './model.js';
import { revisionKind } from './revision.js';
import { roleBindingKind } from './role-binding.js';
import { roleKind } from './role.js';
import { serviceAccountKind } from './service-account.js';
import { userKind } from './user.js';
import { secretKind, secretVersionKind } from './secret.js';
import type { StoredFields } from './stored.js';

/** Every kind the store knows, in this order wherever they are listed. */
export const KIND_DEFINITIONS = [
  environmentKind,
  modelKind,
  modelVersionKind,
  deploymentKind,
  revisionKind,
  deploymentEventKind,
  incidentKind,
  approvalKind,
  feedbackKind,
  analysisTemplateKind,
  autoscalerKind,
  apiTokenKind,
  auditEventKind,
  auditHeadKind,
  auditCheckpointKind,
  roleKind,
  roleBindingKind,
  userKind,
  serviceAccountKind,
  secretKind,
  secretVersionKind,
  bundleVersionKind,
] as const;

/** The definition of each kind, by kind name. */
export type KindDefinitions = { [D in (typeof KIND_DEFINITIONS)[number] as D['kind']]: D };

/** The kind names of a list of definitions, as a tuple in the same order. */
type KindNames<L extends readonly { kind: string }[]> = { readonly [I in keyof L]: L[I]['kind'] };

/** Every resource kind the store knows, as used in change-feed rows and errors. */
export const RESOURCE_KINDS = KIND_DEFINITIONS.map((d) => d.kind) as readonly ResourceKind[] as KindNames<
  typeof KIND_DEFINITIONS
>;
/** One of {@link RESOURCE_KINDS}. */
export type ResourceKind = keyof KindDefinitions;

/** Resource type by kind. */
export type ResourceTypes = { [K in ResourceKind]: TypeOfKind<KindDefinitions[K]> };
/** The fields that identify one object of each kind. */
export type ResourceIds = { [K in ResourceKind]: IdOfKind<KindDefinitions[K]> };
/** The filters each kind's list accepts (all optional, combined with AND). */
export type ResourceFilters = { [K in ResourceKind]: FilterOfKind<KindDefinitions[K]> };

/** The stored object of kind `K`. */
export type Resource<K extends ResourceKind> = ResourceTypes[K];
/** What a caller passes to create: the object without the store-owned fields. */
export type NewResource<K extends ResourceKind> = Omit<ResourceTypes[K], keyof StoredFields>;
/** The id of an object of kind `K`. */
export type ResourceId<K extends ResourceKind> = ResourceIds[K];
/** The list filter of kind `K`. */
export type ResourceFilter<K extends ResourceKind> = ResourceFilters[K];

/** How one kind maps onto the store's key and index columns. */
export type KindDescriptor<K extends ResourceKind> = KindDefinition<Resource<K>, ResourceId<K>, ResourceFilter<K>, K>;

/** The descriptor of every kind, by kind name. */
export const KINDS = Object.fromEntries(KIND_DEFINITIONS.map((d) => [d.kind, d])) as {
  readonly [K in ResourceKind]: KindDescriptor<K>;
};

/**
 * The store key of an object's id.
 *
 * @example
 *   resourceKey('Revision', { deployment: 'd-1', number: 3 }) // 'd-1/0000000003'
 */
export function resourceKey<K extends ResourceKind>(kind: K, id: ResourceId<K>): string {
  return (KINDS[kind] as KindDescriptor<K>).key(id);
}

/**
 * The id behind a store key (as found in a change-feed row); the inverse of {@link resourceKey}.
 *
 * @example
 *   resourceIdOfKey('ModelVersion', 'readmission/1.4.0') // { model: 'readmission', version: '1.4.0' }
 */
export function resourceIdOfKey<K extends ResourceKind>(kind: K, key: string): ResourceId<K> {
  return (KINDS[kind] as KindDescriptor<K>).idOfKey(key);
}
