/**
 * Kubernetes-style conditions, the status vocabulary the controllers write (deployments today).
 * Pure: the caller passes the time.
 */

/** A Kubernetes-style condition: one observed aspect of the status. */
export interface Condition {
  /** e.g. `Available`, `Progressing`, `ApprovalPending`. */
  type: string;
  status: 'True' | 'False' | 'Unknown';
  /** CamelCase, machine-readable, e.g. `MinimumReplicasAvailable`. */
  reason: string;
  message: string;
  /** When `status` last changed (not when the condition was last written). */
  lastTransitionTime: string;
}

/**
 * Returns `conditions` with `next` set by type. `lastTransitionTime` moves to `now` only when the
 * status changes, so it keeps saying when the condition last flipped.
 *
 * @example
 *   status.conditions = setCondition(status.conditions, { type: 'Available', status: 'True', reason: 'Ready', message: '' }, now);
 */
export function setCondition(
  conditions: readonly Condition[],
  next: Omit<Condition, 'lastTransitionTime'>,
  now: string,
): Condition[] {
  const previous = conditions.find((c) => c.type === next.type);
  const lastTransitionTime = previous && previous.status === next.status ? previous.lastTransitionTime : now;
  const updated = { ...next, lastTransitionTime };
  return previous ? conditions.map((c) => (c === previous ? updated : c)) : [...conditions, updated];
}
