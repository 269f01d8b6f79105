/** `--wait`: follows a deployment until it runs at its revision, fails, or the timeout passes. */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Deployment } from '../core/resources.js';
import { call } from './client.js';

/** Resolves when running with every replica ready; throws the deployment's message on failure or timeout. */
export async function waitForDeployment(environment: string, name: string, timeoutMs: number): Promise<Deployment> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    const d = await call<Deployment>(`/api/v1/environments/${encodeURIComponent(environment)}/deployments/${encodeURIComponent(name)}`);
    // The size the controller runs: the autoscaler's for an autoscaled deployment, else the spec's.
    const target = d.status.observedRevision === d.revision ? (d.status.desiredReplicas ?? d.configuration.replicas) : d.configuration.replicas;
    const progress = `${d.status.readyReplicas}/${target} replicas ready (${d.status.phase})`;
    if (progress !== last) process.stdout.write(`  ${progress}\n`);
    last = progress;
    const converged = d.status.observedRevision === d.revision && d.status.readyReplicas === target;
    if (converged && (d.status.phase === 'running' || d.status.phase === 'stopped')) return d;
    if (d.status.phase === 'failed') throw new Error(`deployment ${name} failed: ${d.status.message ?? 'no message'}`);
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${name}: ${d.status.message ?? progress}`);
    await sleep(300);
  }
}
