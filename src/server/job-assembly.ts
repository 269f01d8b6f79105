/**
 * How the control plane runs batch jobs: the local batch engine (worker processes under
 * `<home>/jobs`), the jobs service the API calls, and the job controller added to what the elected
 * leader runs. Kept apart from `control-plane.ts` so that file only names these parts.
 */
import { join } from 'node:path';
import { createJobController } from '../controller/job-controller.js';
import type { Controller } from '../controller/controller.js';
import { LocalBatchRuntime } from '../runtime/local/local-batch-runtime.js';
import { JobsService } from '../services/jobs/jobs-service.js';
import type { Store } from '../store/store.js';
import type { LeaderTask } from './leader-election.js';

/** The batch parts of one control plane. */
export interface JobParts {
  readonly batch: LocalBatchRuntime;
  readonly service: JobsService;
  /** A new job controller (a leader task may start several times over the process's life). */
  controller(): Controller;
}

/** Makes the parts; `workerArgs` (TEST ONLY) are appended to every worker's command line. */
export function jobParts(options: {
  home: string;
  store: Store;
  wharfBin: string;
  artifactPath: (digest: string) => string | Promise<string>;
  log: (line: string) => void;
  workerArgs?: readonly string[];
}): JobParts {
  const workRoot = join(options.home, 'jobs');
  const extra = options.workerArgs ?? testWorkerArgs(options.log);
  const batch = new LocalBatchRuntime({
    wharfBin: options.wharfBin,
    stopGraceMs: 5_000,
    command: (file) => [process.execPath, options.wharfBin, 'job-worker', '--task', file, ...extra],
  });
  return {
    batch,
    service: new JobsService(options.store, { workRoot, batch }),
    controller: () =>
      createJobController({
        store: options.store,
        batch,
        workRoot,
        artifactPath: options.artifactPath,
        onError: (key, e) => options.log(`jobs: ${key ?? '-'}: ${(e as Error).message}`),
      }).controller,
  };
}

/** `task` plus the job controller, started after it and stopped before it. */
export function withJobs(task: LeaderTask, parts: JobParts): LeaderTask {
  let controller: Controller | undefined;
  return {
    async start() {
      await task.start();
      controller = parts.controller();
      await controller.start();
    },
    async stop() {
      await controller?.stop();
      controller = undefined;
      await task.stop();
    },
  };
}

/**
 * TEST ONLY: `WHARF_TEST_JOB_WORKER_ARGS` (e.g. `--part-rows 100 --inject-latency-ms 20`) slows
 * workers down so a test of `wharf up` can kill one mid-job. Only those two flags are taken.
 */
function testWorkerArgs(log: (line: string) => void): string[] {
  const raw = process.env.WHARF_TEST_JOB_WORKER_ARGS;
  if (raw === undefined || raw.trim() === '') return [];
  const words = raw.trim().split(/\s+/);
  const args: string[] = [];
  for (let i = 0; i + 1 < words.length; i += 2)
    if ((words[i] === '--part-rows' || words[i] === '--inject-latency-ms') && /^\d+$/.test(words[i + 1]!))
      args.push(words[i]!, words[i + 1]!);
  log(`jobs: TEST ONLY worker arguments: ${args.join(' ')}`);
  return args;
}
