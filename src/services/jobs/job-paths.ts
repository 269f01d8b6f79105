/** Where a job's work lives on the control plane's machine: one directory per run generation. */
import { join } from 'node:path';
import type { Job } from '../../core/resources.js';

/**
 * The work directory of `job`'s current generation: a retry starts over in a new one, a crashed
 * worker resumes in the same one.
 *
 * @example
 *   jobWorkDir('/home/me/.wharf/jobs', job) // '/home/me/.wharf/jobs/staging/score/1'
 */
export function jobWorkDir(workRoot: string, job: Pick<Job, 'environment' | 'name' | 'generation'>): string {
  return join(workRoot, job.environment, job.name, String(job.generation));
}
