/** `--wait`: follows a deployment until it runs at its revision, fails, or the timeout passes. */
import { setTimeout as sleep } from 'node:timers/promises';
import type { DeploymentResponse } from '../api/response-schemas.js';
import { call } from './client.js';
import { holdingConditionLines } from './conditions.js';
import { rolloutWait } from './rollout-wait.js';

/**
 * Resolves when running with every replica ready and the rollout complete (the new revision takes
 * all traffic); throws the deployment's message on failure or an abort, and at the timeout what it
 * still waited for (e.g. a canary paused until promoted, or a failing dependency).
 */
export async function waitForDeployment(
  environment: string,
  name: string,
  timeoutMs: number,
): Promise<DeploymentResponse> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    const d = await call<DeploymentResponse>(
      `/api/v1/environments/${encodeURIComponent(environment)}/deployments/${encodeURIComponent(name)}`,
    );
    // The size the controller runs: the autoscaler's for an autoscaled deployment, else the spec's.
    const target =
      d.status.observedRevision === d.revision
        ? (d.status.desiredReplicas ?? d.configuration.replicas)
        : d.configuration.replicas;
    const rollout = rolloutWait(d);
    const holding = holdingConditionLines(d);
    const replicas = `${d.status.readyReplicas}/${target} replicas ready (${d.status.phase})`;
    const progress = [replicas, ...holding, ...(rollout.state === 'waiting' ? [rollout.note] : [])].join('; ');
    if (progress !== last) process.stdout.write(`  ${progress}\n`);
    last = progress;
    const converged = d.status.observedRevision === d.revision && d.status.readyReplicas === target;
    if (converged && rollout.state === 'done' && (d.status.phase === 'running' || d.status.phase === 'stopped'))
      return d;
    if (rollout.state === 'failed') throw new Error(`deployment ${name} failed: ${rollout.message}`);
    if (Date.now() > deadline) {
      const why =
        rollout.state === 'waiting'
          ? [rollout.note, ...holding]
          : [d.status.message ?? replicas, ...(d.status.message ? holding : [])];
      throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${name}: ${why.join('; ')}`);
    }
    await sleep(300);
  }
}
