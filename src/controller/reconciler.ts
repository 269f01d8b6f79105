/**
 * The Reconciler contract (after controller-runtime's `pkg/reconcile`): make the world match the
 * desired state of one key, level-based: read everything again each time, act, report. Only the
 * {@link Controller} decides retries and backoff from what a reconcile returns or throws:
 *
 * - `{}`: done until something changes (or the next periodic resync);
 * - `{ requeueAfterMs }`: run again after that long (not converged yet, polling progress);
 * - throws {@link TerminalError}: recorded through the controller's `onTerminalError`, not retried
 *   until the key changes again;
 * - throws anything else: retried with per-key exponential backoff.
 *
 * Expected failures (a replica that crash-loops, a probe that fails) are not errors: a reconciler
 * writes them on the status as phase and message and returns normally.
 */
import { WharfError } from '../core/errors.js';

/** What a reconcile asks the controller to do next. */
export interface ReconcileResult {
  /** Reconcile this key again after this many milliseconds. */
  requeueAfterMs?: number;
}

/** What a reconcile gets besides its key. */
export interface ReconcileContext {
  /** Aborted when the controller stops: stop promptly, leaving things in any state a later reconcile can continue from. */
  readonly signal: AbortSignal;
}

/** Reconciles one kind of key. */
export interface Reconciler {
  reconcile(key: string, context: ReconcileContext): Promise<ReconcileResult>;
}

/**
 * A failure that retrying cannot fix (e.g. a record that breaks an invariant). The controller
 * records it and does not retry; a later change to the key reconciles it afresh.
 *
 * @example
 *   throw new TerminalError(`revision ${n} of ${id} is missing`);
 */
export class TerminalError extends WharfError {
  readonly code = 'TERMINAL';
}
