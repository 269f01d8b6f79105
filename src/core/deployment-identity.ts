/**
 * How a deployment is named in the store, in the runtime and in its history. Pure: no I/O.
 *
 * - Store id: `<environment>.<name>`. Deterministic, so "one name per environment" is enforced by
 *   the store's ALREADY_EXISTS on create (atomic on every backend) rather than by a read-then-write.
 *   A name is a DNS label (no dots), so splitting at the last dot gives the parts back.
 * - Runtime workload key: `{ environment, deployment: name, revision }`: the name, not the id, is
 *   what replicas and the gateway know the deployment by.
 */
import type { Deployment, DeploymentMetadata, Revision } from './resources.js';

/**
 * The store id of the deployment `name` in `environment`.
 *
 * @example
 *   deploymentId('production', 'readmission') // 'production.readmission'
 */
export function deploymentId(environment: string, name: string): string {
  return `${environment}.${name}`;
}

/** The environment and name inside a {@link deploymentId}; undefined for anything else. */
export function parseDeploymentId(id: string): { environment: string; name: string } | undefined {
  const dot = id.lastIndexOf('.');
  if (dot <= 0 || dot === id.length - 1) return undefined;
  return { environment: id.slice(0, dot), name: id.slice(dot + 1) };
}

/**
 * Deletion marker. `DeploymentMetadata` has no field for it yet (see the report on resources.ts), so
 * it is kept as an extra metadata field that the store round-trips as part of the JSON document.
 */
interface DeletionMetadata extends DeploymentMetadata {
  /** When deletion was asked for; the controller removes the replicas, then the record. */
  deletionRequestedAt?: string;
}

/** When deletion of `deployment` was requested, or undefined when it was not. */
export function deletionRequestedAt(deployment: Pick<Deployment, 'metadata'>): string | undefined {
  return (deployment.metadata as DeletionMetadata).deletionRequestedAt;
}

/** `deployment` marked for deletion at `at` (a new object). */
export function withDeletionRequested<D extends Pick<Deployment, 'metadata'>>(deployment: D, at: string): D {
  const metadata: DeletionMetadata = { ...deployment.metadata, updated: at, deletionRequestedAt: at };
  return { ...deployment, metadata };
}

const ROLLBACK_REASON = 'rollback to revision ';

/** The reason recorded on a revision made by rolling back to revision `to`. */
export function rollbackReason(to: number): string {
  return `${ROLLBACK_REASON}${to}`;
}

/** True when `revision` was made by a rollback (its phase reads `rolling-back` until ready). */
export function isRollbackRevision(revision: Pick<Revision, 'reason'>): boolean {
  return revision.reason.startsWith(ROLLBACK_REASON);
}
