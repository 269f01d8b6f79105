/**
 * Environments: the deployment targets (development, staging, production, …) and the policies they
 * enforce. Keyed by name.
 */
import { defineKind, keyPart, NO_INDEX } from './define-kind.js';
import type { Labels, StoredFields } from './stored.js';

/** Where an environment's workloads run. */
export type RuntimeBinding = 'local' | 'kubernetes';

/** A deployment target: development, staging, production, dr, or custom. */
export interface Environment extends StoredFields {
  /** Unique name, e.g. `production`. */
  name: string;
  runtime: RuntimeBinding;
  policies: EnvironmentPolicies;
  labels: Labels;
}

/** Rules an environment enforces on changes made to it. */
export interface EnvironmentPolicies {
  /** A change to a deployment here waits for an approver. */
  requiresApproval: boolean;
}

/** Environments in the store: keyed by name, listed whole. */
export const environmentKind = defineKind<Environment, string>()({
  kind: 'Environment',
  collection: 'environments',
  key: (name) => keyPart('name', name),
  idOfKey: (key) => key,
  id: (o) => o.name,
  index: () => NO_INDEX,
  filter: () => ({}),
});
