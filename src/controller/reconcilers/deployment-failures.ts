/**
 * Reconcile failures made visible on the deployment, where users look, not only in the log: a
 * {@link TerminalError} sets phase `failed` with its message; a failure that is retried sets the
 * `Reconciled: False` condition once it repeats (see `reconciled-condition.ts`). Each writes one
 * Warning event, and the same error again writes nothing.
 */
import { hasErrorCode, unlessNotFound } from '../../core/errors.js';
import type { Store } from '../../store/store.js';
import { newEvent } from '../../services/deployment-events.js';
import type { TerminalError } from '../reconciler.js';
import { reconcileFailed, REPEATED_FAILURES } from './reconciled-condition.js';

/** Phase `failed` with the error's message, and a Warning event (unless already recorded). */
export async function recordTerminalError(store: Store, key: string, error: TerminalError, now: string): Promise<void> {
  await store.transaction(async (tx) => {
    const deployment = await unlessNotFound(tx.deployments.get(key));
    if (
      deployment === undefined ||
      (deployment.status.phase === 'failed' && deployment.status.message === error.message)
    )
      return;
    await tx.deployments.update({
      ...deployment,
      status: { ...deployment.status, phase: 'failed', message: error.message },
    });
    await tx.events.create(newEvent(key, now, { type: 'Warning', reason: 'ReconcileFailed', message: error.message }));
  });
}

/**
 * From the {@link REPEATED_FAILURES}-th consecutive failure: a `Reconciled: False` condition with
 * the error and one Warning event. A concurrent write wins: the next failure records it.
 */
export async function recordRetriedError(
  store: Store,
  key: string,
  error: unknown,
  failures: number,
  now: string,
): Promise<void> {
  if (failures < REPEATED_FAILURES) return;
  try {
    await store.transaction(async (tx) => {
      const deployment = await unlessNotFound(tx.deployments.get(key));
      const change = deployment === undefined ? undefined : reconcileFailed(deployment.status, error, now);
      if (deployment === undefined || change === undefined) return;
      await tx.deployments.update({ ...deployment, status: change.status });
      await tx.events.create(newEvent(key, now, change.event));
    });
  } catch (writeError) {
    if (!hasErrorCode(writeError, 'CONFLICT')) throw writeError;
  }
}
