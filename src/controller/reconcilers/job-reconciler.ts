/**
 * The job reconciler: for a run, plan its batch task, launch a worker through the
 * {@link BatchRuntime}, copy `progress.json` into the status while it runs, launch it again on the
 * same work directory when it crashed (it resumes from its checkpoints), and record its
 * `result.json` when it ends; on cancel it stops the worker. For a template (a job with a
 * schedule) see `job-schedule.ts`. Level-based: everything is read again each time, so a control
 * plane killed at any point continues from the store, the work directory and the running worker.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { errorThresholdOf } from '../../core/job-spec.js';
import { isJobFinished, type Job, type JobStatus } from '../../core/resources.js';
import { BATCH_EXIT, type BatchProgress, type BatchResult, type BatchTask } from '../../protocol/batch-task.js';
import type { BatchRuntime } from '../../runtime/batch-runtime.js';
import { jobWorkDir } from '../../services/jobs/job-paths.js';
import type { Store } from '../../store/store.js';
import { type Clock, realClock } from '../clock.js';
import type { ReconcileResult, Reconciler } from '../reconciler.js';
import { reconcileTemplate } from './job-schedule.js';

/** Settings of {@link JobReconciler}; defaults in {@link JOB_RECONCILER_DEFAULTS}. */
export interface JobReconcilerOptions {
  store: Store;
  batch: BatchRuntime;
  /** Where work directories live (`<home>/jobs`). */
  workRoot: string;
  /** The local file of an artifact digest (the registry's blob). */
  /** A local path of the artifact (a remote registry's blob is fetched into a local cache first). */
  artifactPath(digest: string): string | Promise<string>;
  clock?: Clock;
  /** How often a running job's progress is read. */
  pollMs?: number;
  /** Worker launches of one run before it fails (a worker that crashes each time). */
  maxAttempts?: number;
}

/** Defaults. */
export const JOB_RECONCILER_DEFAULTS = { pollMs: 500, maxAttempts: 6 } as const;

/** See the module comment. Keys are job store keys (`<environment>/<name>`). */
export class JobReconciler implements Reconciler {
  readonly clock: Clock;
  readonly pollMs: number;
  private readonly maxAttempts: number;

  constructor(readonly options: JobReconcilerOptions) {
    this.clock = options.clock ?? realClock;
    this.pollMs = options.pollMs ?? JOB_RECONCILER_DEFAULTS.pollMs;
    this.maxAttempts = options.maxAttempts ?? JOB_RECONCILER_DEFAULTS.maxAttempts;
  }

  async reconcile(key: string): Promise<ReconcileResult> {
    const slash = key.indexOf('/');
    const id = { environment: key.slice(0, slash), name: key.slice(slash + 1) };
    const job = await this.options.store.jobs.get(id).catch((e: unknown) => {
      if ((e as { code?: string }).code === 'NOT_FOUND') return undefined;
      throw e;
    });
    if (job === undefined) return {};
    if (job.spec.schedule !== undefined) return reconcileTemplate(this, job);
    return this.reconcileRun(job);
  }

  /** The work directory of a run's current generation. */
  workDir(job: Job): string {
    return jobWorkDir(this.options.workRoot, job);
  }

  private async reconcileRun(job: Job): Promise<ReconcileResult> {
    const workDir = this.workDir(job);
    const { batch } = this.options;
    if (isJobFinished(job.status.phase)) {
      // A worker left over from a cancel the control plane died in the middle of.
      if ((await batch.observe(workDir)).state === 'running') await batch.stop(workDir);
      return {};
    }
    if (job.cancelRequested === true) {
      await batch.stop(workDir);
      await this.write(job, { ...job.status, phase: 'Cancelled', message: 'cancelled', finishedAt: this.iso() });
      return {};
    }
    const result = await readJson<BatchResult>(join(workDir, 'result.json'));
    const worker = await batch.observe(workDir);
    if (result !== undefined && worker.state === 'gone') {
      await this.write(job, this.ended(job, result));
      return {};
    }
    if (worker.state === 'running') {
      const progress = await readJson<BatchProgress>(join(workDir, 'progress.json'));
      if (progress !== undefined || job.status.phase !== 'Running')
        await this.write(job, this.progressed(job, progress));
      return { requeueAfterMs: this.pollMs };
    }
    if (worker.exitCode === BATCH_EXIT.invalidTask) {
      const tail = await batch.logs(workDir, 3);
      await this.write(job, this.failed(job, `the worker refused the task: ${tail || 'no output'}`));
      return {};
    }
    if (job.status.attempts >= this.maxAttempts) {
      await this.write(
        job,
        this.failed(
          job,
          `the worker crashed ${job.status.attempts} times; last output: ${await batch.logs(workDir, 3)}`,
        ),
      );
      return {};
    }
    await batch.launch(await this.task(job, workDir));
    const started = job.status.startedAt ?? this.iso();
    await this.write(job, {
      ...job.status,
      phase: 'Running',
      attempts: job.status.attempts + 1,
      startedAt: started,
      message:
        job.status.attempts === 0
          ? 'started'
          : `worker restarted (attempt ${job.status.attempts + 1}), resuming from its checkpoint`,
    });
    return { requeueAfterMs: this.pollMs };
  }

  /** The batch task of a run (one shard: the local engine runs one worker per job). */
  async task(job: Job, workDir: string): Promise<BatchTask> {
    const resolved = job.resolved!;
    return {
      jobId: `${job.environment}/${job.name}/${job.generation}`,
      model: {
        name: resolved.name,
        version: resolved.version,
        artifactPath: await this.options.artifactPath(resolved.digest),
        digest: resolved.digest,
      },
      input: job.spec.input,
      output: job.spec.output,
      batchSize: job.spec.batchSize,
      concurrency: job.spec.concurrency,
      errorThreshold: errorThresholdOf(job.spec.errorThreshold),
      batchTimeoutMs: job.spec.timeoutSeconds * 1000,
      retries: job.spec.retries,
      workDir,
    };
  }

  private progressed(job: Job, p: BatchProgress | undefined): JobStatus {
    if (p === undefined) return { ...job.status, phase: 'Running' };
    const left = p.rowsTotal === undefined ? undefined : p.rowsTotal - p.rowsDone - p.rowsFailed;
    return {
      ...job.status,
      phase: 'Running',
      rowsDone: p.rowsDone,
      rowsFailed: p.rowsFailed,
      rowsPerSecond: Math.round(p.rowsPerSecond),
      ...(p.rowsTotal === undefined ? {} : { rowsTotal: p.rowsTotal }),
      ...(left !== undefined && p.rowsPerSecond > 0 ? { etaSeconds: Math.ceil(left / p.rowsPerSecond) } : {}),
    };
  }

  private ended(job: Job, r: BatchResult): JobStatus {
    const { etaSeconds: _eta, ...status } = this.progressed(job, r);
    return {
      ...status,
      phase: r.outcome === 'succeeded' ? 'Succeeded' : 'Failed',
      rowsTotal: r.rowsTotal ?? r.rowsDone + r.rowsFailed,
      message: r.message,
      finishedAt: this.iso(),
      ...(r.output === '' ? {} : { output: r.output }),
      ...(r.errors === '' ? {} : { errors: r.errors }),
    };
  }

  private failed(job: Job, message: string): JobStatus {
    return { ...job.status, phase: 'Failed', message, finishedAt: this.iso() };
  }

  /** Writes a status, unless it is what is stored already (no change row for nothing). */
  async write(job: Job, status: JobStatus): Promise<Job> {
    if (JSON.stringify(status) === JSON.stringify(job.status)) return job;
    return this.options.store.jobs.update({ ...job, status });
  }

  iso(): string {
    return new Date(this.clock.now()).toISOString();
  }
}

async function readJson<T>(file: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as T;
  } catch {
    return undefined;
  }
}
