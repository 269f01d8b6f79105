/**
 * The end of a deployment: workloads left running under the name of a record that is gone are
 * removed (a deletion finished by hand, a restored store), and a deleted deployment whose
 * workloads are all gone is removed from the store with its revisions, events and Autoscaler
 * record in one transaction.
 */
import { hasErrorCode, unlessNotFound } from '../../core/errors.js';
import { parseDeploymentId } from '../../core/deployment-identity.js';
import type { Deployment } from '../../core/resources.js';
import type { Runtime } from '../../runtime/runtime.js';
import type { Store, StoreCollections } from '../../store/store.js';
import type { ReconcileResult } from '../reconciler.js';
import { listAll } from '../../services/store-pages.js';

/** The record `key` is gone: nothing of it may keep running. */
export async function removeStrays(
  runtime: Pick<Runtime, 'list' | 'remove'>,
  key: string,
  checkSignal: () => void,
): Promise<ReconcileResult> {
  const id = parseDeploymentId(key);
  if (id === undefined) return {};
  for (const w of await runtime.list({ environment: id.environment, deployment: id.name })) {
    checkSignal();
    await runtime.remove(w.key);
  }
  return {};
}

/** Deletes the record with its revisions and events, if no one changed it since it was read. */
export async function deleteRecord(store: Store, deployment: Deployment): Promise<ReconcileResult> {
  try {
    await store.transaction(async (tx) => {
      await deleteChildren(tx, deployment.id);
      await tx.deployments.delete(deployment.id, deployment.resourceVersion);
    });
  } catch (error) {
    if (hasErrorCode(error, 'CONFLICT')) return { requeueAfterMs: 0 };
    if (hasErrorCode(error, 'NOT_FOUND')) return {};
    throw error;
  }
  return {};
}

async function deleteChildren(tx: StoreCollections, id: string): Promise<void> {
  await unlessNotFound(tx.autoscalers.delete(id));
  for (const r of await listAll(tx.revisions, { deployment: id }))
    await tx.revisions.delete({ deployment: id, number: r.number });
  for (const e of await listAll(tx.events, { deployment: id })) await tx.events.delete({ deployment: id, id: e.id });
}
