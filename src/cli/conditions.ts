/**
 * The conditions that say why a deployment is held back (a failing dependency, a reconcile error
 * that keeps repeating), as one line each
 * for people: the table of `deploy get` and the progress of `--wait` show them, not only `-o json`.
 */
import type { DeploymentResponse } from '../api/response-schemas.js';

/** Condition types whose `False` means "held back, and the message says by what". */
const HOLDING_WHEN_FALSE: readonly string[] = ['DependenciesReady', 'Reconciled'];

/** The conditions holding `d` back, e.g. `DependenciesReady False (DependencyFailed): revision 1: feature-store: …`. */
export function holdingConditionLines(d: Pick<DeploymentResponse, 'status'>): string[] {
  return d.status.conditions
    .filter((c) => c.status === 'False' && HOLDING_WHEN_FALSE.includes(c.type))
    .map((c) => `${c.type} ${c.status}${c.reason ? ` (${c.reason})` : ''}${c.message ? `: ${c.message}` : ''}`);
}
