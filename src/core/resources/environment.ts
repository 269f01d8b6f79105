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
  /** Where its workloads run, for data residency (e.g. `eu-west-1`); unset means unknown. */
  region?: string;
  policies: EnvironmentPolicies;
  labels: Labels;
  /**
   * The environment this one stands in for (disaster recovery): while a deployment there has no
   * ready replica, gateways send its requests to the deployment of the same name here. One level
   * only (see `core/failover.ts`).
   */
  failoverFor?: string;
}

/**
 * Rules an environment enforces on changes made to it. Every field but `requiresApproval` is
 * optional: unset means "no such rule". Admission (`core/admission-policies.ts`) checks them on
 * every create, update, scale, rollback and promotion.
 */
export interface EnvironmentPolicies {
  /** A change to a deployment here waits for an approver. */
  requiresApproval: boolean;
  /** Labels a model version must carry with exactly these values, e.g. `{ validated: 'true' }`. */
  requiredLabels?: Record<string, string>;
  /** Thresholds on the model version's metrics, e.g. `auc >= 0.8`. */
  requiredMetrics?: MetricRequirement[];
  /** Totals over the environment's deployments (replicas × per-replica requests). */
  quota?: EnvironmentQuota;
  /** Model names that may run here; `*` matches any run of characters (`risk-*`). */
  allowedModels?: string[];
  /** Container images that may run here; `*` as above (`registry.example.com/*`). */
  allowedImages?: string[];
}

/** How a metric threshold compares. */
export const METRIC_OPERATORS = ['>=', '>', '<=', '<', '=='] as const;
export type MetricOperator = (typeof METRIC_OPERATORS)[number];

/** A threshold on one model-version metric: `{ metric: 'auc', operator: '>=', value: 0.8 }`. */
export interface MetricRequirement {
  metric: string;
  operator: MetricOperator;
  value: number;
}

/** Limits on what all deployments of an environment ask for together. */
export interface EnvironmentQuota {
  /** Replicas (an autoscaled deployment counts at its maximum). */
  replicas?: number;
  /** CPU requests, a quantity (`'8'`, `'4500m'`). */
  cpu?: string;
  /** Memory requests, a quantity (`'16Gi'`). */
  memory?: string;
  /** GPUs. */
  gpu?: number;
}

/** The model-version label that says where a model's data may be processed: `eu-west-1,eu-central-1`. */
export const RESIDENCY_LABEL = 'wharf.dev/residency';

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
