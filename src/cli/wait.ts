/** `--wait`: follows a deployment until it runs at its revision, fails, or the timeout passes. */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Deployment } from '../core/resources.js';
import { call } from './client.js';
import { holdingConditionLines } from './conditions.js';

/** Resolves when running with every replica ready; throws the deployment's message on failure or timeout. */
export async function waitForDeployment(environment: string, name: string, timeoutMs: number): Promise<Deployment> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    const d = await call<Deployment>(`/api/v1/environments/${encodeURIComponent(environment)}/deployments/${encodeURIComponent(name)}`);
    const holding = holdingConditionLines(d);
    const progress = `${d.status.readyReplicas}/${d.configuration.replicas} replicas ready (${d.status.phase})${holding.map((h) => `; ${h}`).join('')}`;
    if (progress !== last) process.stdout.write(`  ${progress}\n`);
    last = progress;
    const converged = d.status.observedRevision === d.revision && d.status.readyReplicas === d.configuration.replicas;
    if (converged && (d.status.phase === 'running' || d.status.phase === 'stopped')) return d;
    if (d.status.phase === 'failed') throw new Error(`deployment ${name} failed: ${d.status.message ?? 'no message'}`);
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${name}: ${[d.status.message ?? progress, ...(d.status.message ? holding : [])].join('; ')}`);
    await sleep(300);
  }
}
