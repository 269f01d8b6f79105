/**
 * The resources the control plane stores, as plain JSON-serialisable types. Every stored object
 * carries a `resourceVersion` that the store sets on each write and that callers send back on an
 * update to say "the version I read" (optimistic concurrency). Timestamps are ISO-8601 strings.
 *
 * A re-export barrel, kept as the import path: each kind lives in its own file under `resources/`
 * (its types and its `defineKind` definition), the shared pieces beside them, and the registry of
 * kinds in `resources/kinds.ts`.
 */
export type { StrategySpec, StrategyType } from './strategy.js';
export * from './resources/analysis-template.js';
export * from './resources/api-token.js';
export * from './resources/secret.js';
export * from './resources/approval.js';
export * from './resources/audit-event.js';
export * from './resources/autoscaler-state.js';
export * from './resources/bundle-version.js';
export * from './resources/condition.js';
export * from './resources/deployment-configuration.js';
export * from './resources/deployment-event.js';
export * from './resources/deployment.js';
export * from './resources/digest.js';
export * from './resources/environment.js';
export * from './resources/feedback.js';
export * from './resources/incident.js';
export * from './resources/model-version.js';
export * from './resources/model.js';
export * from './resources/revision.js';
export * from './resources/role-binding.js';
export * from './resources/role.js';
export * from './resources/service-account.js';
export * from './resources/user.js';
export * from './resources/stored.js';
export {
  RESOURCE_KINDS,
  type NewResource,
  type Resource,
  type ResourceKind,
  type ResourceTypes,
} from './resources/kinds.js';
