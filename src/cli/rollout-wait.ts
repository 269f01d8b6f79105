/**
 * The rollout half of `--wait`: a deployment whose replicas are all ready may still be a canary
 * paused at 20%, so "running" alone does not mean the new revision runs. Pure, over the
 * deployment as the API returns it.
 */
import type { DeploymentResponse } from '../api/response-schemas.js';

/** What `--wait` still waits for in the rollout, or why the rollout failed. */
export type RolloutWait =
  /** The current revision takes all traffic (or there is no rollout to wait for). */
  | { readonly state: 'done' }
  /** Still going; `note` says where (a paused rollout says it waits for promote). */
  | { readonly state: 'waiting'; readonly note: string }
  | { readonly state: 'failed'; readonly message: string };

/** See {@link RolloutWait}. */
export function rolloutWait(d: DeploymentResponse): RolloutWait {
  const r = d.status.rollout;
  const seen = d.status.observedRevision === d.revision;
  if (d.status.phase === 'failed') {
    // An abort of an earlier revision is no verdict on this one until the controller has seen it.
    if (seen || r?.phase !== 'Aborted') return { state: 'failed', message: d.status.message ?? 'no message' };
    return { state: 'waiting', note: `revision ${d.revision} not yet picked up by the controller` };
  }
  if (r === undefined) return { state: 'done' };
  if (!seen || r.revision !== d.revision)
    return { state: 'waiting', note: `revision ${d.revision} not yet picked up by the controller` };
  if (r.canary === undefined && r.phase === 'Healthy') return { state: 'done' };
  const at = where(d);
  if (r.phase === 'Paused')
    return {
      state: 'waiting',
      note: `paused${at}: waiting for promote (wharf deploy promote ${d.name} -e ${d.environment}); ${r.message}`,
    };
  return { state: 'waiting', note: `rolling out${at}: ${r.message}` };
}

/** ` at step 2/5 (20%)` for a canary, ` (blue-green)` for the others. */
function where(d: DeploymentResponse): string {
  const r = d.status.rollout!;
  const steps = d.strategy.type === 'canary' ? (d.strategy.canary?.steps ?? []) : undefined;
  if (steps === undefined || r.strategy !== 'canary') return ` (${r.strategy})`;
  return ` at step ${Math.min(r.stepIndex + 1, steps.length)}/${steps.length} (${r.weight}%)`;
}
