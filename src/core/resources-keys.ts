/**
 * How each resource kind is identified, keyed and filtered. The store keeps one string key per
 * object (unique within its kind) plus two indexed columns, `environment` and `parent`; this file is
 * the one place that maps a kind's fields onto them. Pure: no I/O.
 */
import { InvalidArgumentError } from './errors.js';
import type { NewResource, ResourceKind } from './resources.js';

/** The fields that identify one object of each kind. */
export interface ResourceIds {
  Environment: string;
  Model: string;
  ModelVersion: { model: string; version: string };
  Deployment: string;
  Revision: { deployment: string; number: number };
  DeploymentEvent: { deployment: string; id: string };
  Incident: string;
  Approval: string;
  Feedback: { deployment: string; requestId: string };
  AnalysisTemplate: string;
  Autoscaler: string;
}

/** The filters each kind's list accepts (all optional, combined with AND). */
export interface ResourceFilters {
  Environment: object;
  Model: object;
  ModelVersion: { model?: string };
  Deployment: { environment?: string };
  Revision: { deployment?: string };
  DeploymentEvent: { deployment?: string };
  /** `deploymentName` alone matches that name in every environment. */
  Incident: { environment?: string; deploymentName?: string };
  Approval: { environment?: string; state?: string };
  Feedback: { deployment?: string };
  AnalysisTemplate: object;
  Autoscaler: { environment?: string };
}

/** The id of an object of kind `K`. */
export type ResourceId<K extends ResourceKind> = ResourceIds[K];
/** The list filter of kind `K`. */
export type ResourceFilter<K extends ResourceKind> = ResourceFilters[K];

/** The indexed columns the store keeps beside each document. */
export interface IndexColumns {
  environment: string | null;
  parent: string | null;
}

/** How one kind maps onto the store's key and index columns. */
export interface KindDescriptor<K extends ResourceKind> {
  /** The string key of an id; throws {@link InvalidArgumentError} for an unusable id. */
  key(id: ResourceId<K>): string;
  /** The id fields of an object. */
  id(object: NewResource<K>): ResourceId<K>;
  /** The indexed columns of an object. */
  index(object: NewResource<K>): IndexColumns;
  /** The indexed-column conditions of a list filter. */
  filter(filter: ResourceFilter<K>): Partial<IndexColumns>;
}

// Revision numbers are zero-padded in keys so that key order is numeric order.
const REVISION_DIGITS = 10;

function part(field: string, value: string): string {
  if (typeof value !== 'string' || value === '') throw new InvalidArgumentError(`${field}: must be a non-empty string`);
  if (value.includes('/'))
    throw new InvalidArgumentError(`${field}: must not contain '/', got ${JSON.stringify(value)}`);
  return value;
}

function revisionNumber(value: number): string {
  if (!Number.isSafeInteger(value) || value < 1)
    throw new InvalidArgumentError(`number: must be a positive integer, got ${value}`);
  return String(value).padStart(REVISION_DIGITS, '0');
}

const NO_INDEX: IndexColumns = { environment: null, parent: null };

/** The descriptor of every kind. */
export const KINDS: { readonly [K in ResourceKind]: KindDescriptor<K> } = {
  Environment: {
    key: (name) => part('name', name),
    id: (o) => o.name,
    index: () => NO_INDEX,
    filter: () => ({}),
  },
  Model: {
    key: (name) => part('name', name),
    id: (o) => o.name,
    index: () => NO_INDEX,
    filter: () => ({}),
  },
  ModelVersion: {
    key: (id) => `${part('model', id.model)}/${part('version', id.version)}`,
    id: (o) => ({ model: o.model, version: o.version }),
    index: (o) => ({ environment: null, parent: o.model }),
    filter: (f) => (f.model === undefined ? {} : { parent: f.model }),
  },
  Deployment: {
    key: (id) => part('id', id),
    id: (o) => o.id,
    index: (o) => ({ environment: o.environment, parent: null }),
    filter: (f) => (f.environment === undefined ? {} : { environment: f.environment }),
  },
  Revision: {
    key: (id) => `${part('deployment', id.deployment)}/${revisionNumber(id.number)}`,
    id: (o) => ({ deployment: o.deployment, number: o.number }),
    index: (o) => ({ environment: null, parent: o.deployment }),
    filter: (f) => (f.deployment === undefined ? {} : { parent: f.deployment }),
  },
  DeploymentEvent: {
    key: (id) => `${part('deployment', id.deployment)}/${part('id', id.id)}`,
    id: (o) => ({ deployment: o.deployment, id: o.id }),
    index: (o) => ({ environment: null, parent: o.deployment }),
    filter: (f) => (f.deployment === undefined ? {} : { parent: f.deployment }),
  },
  Incident: {
    key: (id) => part('id', id),
    id: (o) => o.id,
    // The deployment's name, not its id (`<environment>.<name>`): with `environment` it selects the
    // same incidents as the id would, and alone it finds the name in every environment.
    index: (o) => ({ environment: o.environment, parent: o.deploymentName }),
    filter: (f) => ({
      ...(f.environment === undefined ? {} : { environment: f.environment }),
      ...(f.deploymentName === undefined ? {} : { parent: f.deploymentName }),
    }),
  },
  Approval: {
    key: (id) => part('id', id),
    id: (o) => o.id,
    // The state, so a listing filters by it in the query, before paging (migration 0002).
    index: (o) => ({ environment: o.environment, parent: o.state }),
    filter: (f) => ({
      ...(f.environment === undefined ? {} : { environment: f.environment }),
      ...(f.state === undefined ? {} : { parent: f.state }),
    }),
  },
  Feedback: {
    key: (id) => `${part('deployment', id.deployment)}/${part('requestId', id.requestId)}`,
    id: (o) => ({ deployment: o.deployment, requestId: o.requestId }),
    index: (o) => ({ environment: null, parent: o.deployment }),
    filter: (f) => (f.deployment === undefined ? {} : { parent: f.deployment }),
  },
  AnalysisTemplate: {
    key: (name) => part('name', name),
    id: (o) => o.name,
    index: () => NO_INDEX,
    filter: () => ({}),
  },
  Autoscaler: {
    key: (id) => part('deployment', id),
    id: (o) => o.deployment,
    index: (o) => ({ environment: o.environment, parent: null }),
    filter: (f) => (f.environment === undefined ? {} : { environment: f.environment }),
  },
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
  const slash = key.indexOf('/');
  const [head, tail] = [key.slice(0, slash), key.slice(slash + 1)];
  const ids: { [T in ResourceKind]: () => ResourceIds[T] } = {
    Environment: () => key,
    Model: () => key,
    Deployment: () => key,
    ModelVersion: () => ({ model: head, version: tail }),
    Revision: () => ({ deployment: head, number: Number(tail) }),
    DeploymentEvent: () => ({ deployment: head, id: tail }),
    Incident: () => key,
    Approval: () => key,
    Feedback: () => ({ deployment: head, requestId: tail }),
    AnalysisTemplate: () => key,
    Autoscaler: () => key,
  };
  return ids[kind]() as ResourceId<K>;
}
