/**
 * The `Reconciled` condition of a deployment: a reconcile that keeps failing (and is retried with
 * backoff) is otherwise only a line in the server log, while the status goes on describing the
 * last reconcile that worked. Pure: the reconciler writes what these return.
 *
 * - From the {@link REPEATED_FAILURES}-th consecutive failure: `Reconciled: False` with the error,
 *   and one Warning event `ReconcileFailed`. The same error again changes nothing (no event per
 *   retry); a different error updates the message and is a new event.
 * - The next reconcile that works: `Reconciled: True` and one Normal event `ReconcileRecovered`.
 *   A deployment that never failed carries no `Reconciled` condition at all.
 */
import type { DeploymentStatus } from '../../core/resources.js';
import { setCondition } from '../../core/resources.js';
import type { EventInput } from '../../services/deployment-events.js';

export const RECONCILED_CONDITION = 'Reconciled';

/** A single failure retried at once (a store hiccup, a write race) is not news; the second in a row is. */
export const REPEATED_FAILURES = 2;

/** Longest error text kept on the condition and event (errors may quote large inputs). */
const MAX_MESSAGE = 500;

/** The status and event recording a reconcile failure, or undefined when it is already recorded. */
export function reconcileFailed(
  status: DeploymentStatus,
  error: unknown,
  now: string,
): { status: DeploymentStatus; event: EventInput } | undefined {
  const text = error instanceof Error ? error.message : String(error);
  const message = `reconcile failed, retrying: ${text.length > MAX_MESSAGE ? `${text.slice(0, MAX_MESSAGE)}…` : text}`;
  const current = status.conditions.find((c) => c.type === RECONCILED_CONDITION);
  if (current?.status === 'False' && current.message === message) return undefined;
  return {
    status: {
      ...status,
      conditions: setCondition(
        status.conditions,
        { type: RECONCILED_CONDITION, status: 'False', reason: 'ReconcileError', message },
        now,
      ),
    },
    event: { type: 'Warning', reason: 'ReconcileFailed', message },
  };
}

/** The status and event after a reconcile that worked following recorded failures; undefined when none was recorded. */
export function reconcileRecovered(
  status: DeploymentStatus,
  now: string,
): { status: DeploymentStatus; event: EventInput } | undefined {
  const current = status.conditions.find((c) => c.type === RECONCILED_CONDITION);
  if (current?.status !== 'False') return undefined;
  const message = `reconciled again after: ${current.message.replace(/^reconcile failed, retrying: /, '')}`;
  return {
    status: {
      ...status,
      conditions: setCondition(
        status.conditions,
        { type: RECONCILED_CONDITION, status: 'True', reason: 'ReconcileSucceeded', message },
        now,
      ),
    },
    event: { type: 'Normal', reason: 'ReconcileRecovered', message },
  };
}
