/**
 * Jobs as users manage them: create (every rule checked before anything is written: the body,
 * the environment, the model or deployment, the local input and its CSV header against the model's
 * input width), get, list, cancel, retry and logs. The job reconciler does the running; this only
 * writes desired state (a new job, `cancelRequested`, a new `generation`).
 */
import { JOB_DEFAULTS, validateJobRequest } from '../../core/job-spec.js';
import { InvalidArgumentError, NotFoundError, WharfError, hasErrorCode } from '../../core/errors.js';
import { isJobFinished, type Job, type JobStatus } from '../../core/resources.js';
import type { Store } from '../../store/store.js';
import type { BatchRuntime } from '../../runtime/batch-runtime.js';
import { checkLocalInput } from './job-input-check.js';
import { featureWidth, resolveJobModel } from './job-model.js';
import { jobWorkDir } from './job-paths.js';

/** A job cannot do what was asked in the state it is in (e.g. retry a running job). */
export class JobStateError extends WharfError {
  readonly code = 'CONFLICT';
}

/** The status of a job nothing has run yet. */
export function pendingStatus(output?: string): JobStatus {
  return {
    phase: 'Pending',
    rowsDone: 0,
    rowsFailed: 0,
    rowsPerSecond: 0,
    attempts: 0,
    ...(output === undefined ? {} : { output }),
  };
}

/** What the service needs. */
export interface JobsServiceOptions {
  /** Where work directories live (`<home>/jobs`). */
  workRoot: string;
  /** For logs; without it, logs are empty. */
  batch?: Pick<BatchRuntime, 'logs'>;
  now?: () => number;
}

/** See the module comment. */
export class JobsService {
  constructor(
    private readonly store: Store,
    private readonly options: JobsServiceOptions,
  ) {}

  /** Creates the job a request body describes; 400 naming the field for any broken rule, 409 if it exists. */
  async create(body: unknown, actor: string): Promise<Job> {
    const request = validateJobRequest(body);
    const env = await this.store.environments.get(request.environment).catch((e: unknown) => {
      if (hasErrorCode(e, 'NOT_FOUND'))
        throw new InvalidArgumentError(`environment: no environment ${JSON.stringify(request.environment)}`);
      throw e;
    });
    const model = await resolveJobModel(this.store, env.name, request.spec);
    await checkLocalInput(request.spec.input, request.spec.output, featureWidth(model.input));
    const now = new Date(this.options.now?.() ?? Date.now()).toISOString();
    return this.store.jobs.create({
      name: request.name,
      environment: env.name,
      spec: request.spec,
      resolved: { name: model.name, version: model.version, digest: model.digest },
      generation: 1,
      status: pendingStatus(request.spec.schedule === undefined ? request.spec.output.url : undefined),
      createdAt: now,
      createdBy: actor,
    });
  }

  /** The job `name` in `environment`; 404 when there is none. */
  async get(environment: string, name: string): Promise<Job> {
    return this.store.jobs.get({ environment, name }).catch((e: unknown) => {
      if (hasErrorCode(e, 'NOT_FOUND'))
        throw new NotFoundError(`job ${JSON.stringify(name)} not found in environment ${JSON.stringify(environment)}`);
      throw e;
    });
  }

  /** Jobs of an environment (or all), newest first; `scheduledBy` lists one template's runs. */
  async list(filter: { environment?: string; scheduledBy?: string; limit?: number }): Promise<{ items: Job[] }> {
    const page = await this.store.jobs.list({
      ...(filter.environment === undefined ? {} : { environment: filter.environment }),
      ...(filter.scheduledBy === undefined ? {} : { scheduledBy: filter.scheduledBy }),
      limit: Math.min(filter.limit ?? 500, 1000),
    });
    return { items: [...page.items].sort((a, b) => b.createdAt.localeCompare(a.createdAt)) };
  }

  /** Asks the reconciler to stop the job (a template: stop scheduling, cancel its active runs); a finished job is returned as it is. */
  async cancel(environment: string, name: string): Promise<Job> {
    const job = await this.get(environment, name);
    if (isJobFinished(job.status.phase) || job.cancelRequested === true) return job;
    return this.store.jobs.update({ ...job, cancelRequested: true });
  }

  /** Runs a failed or cancelled job again from the start (a new work directory); 409 in any other phase. */
  async retry(environment: string, name: string): Promise<Job> {
    const job = await this.get(environment, name);
    if (job.status.phase !== 'Failed' && job.status.phase !== 'Cancelled')
      throw new JobStateError(
        `job ${JSON.stringify(name)} is ${job.status.phase}: only a Failed or Cancelled job can be retried`,
      );
    const { cancelRequested: _dropped, ...rest } = job;
    return this.store.jobs.update({
      ...rest,
      generation: job.generation + 1,
      status: {
        ...pendingStatus(job.spec.schedule === undefined ? job.spec.output.url : undefined),
        ...(job.status.lastScheduleTime === undefined ? {} : { lastScheduleTime: job.status.lastScheduleTime }),
      },
    });
  }

  /** The last `tail` lines its workers wrote (every attempt of this generation). */
  async logs(environment: string, name: string, tail = 200): Promise<{ lines: string[] }> {
    const job = await this.get(environment, name);
    if (this.options.batch === undefined || job.spec.schedule !== undefined) return { lines: [] };
    const text = await this.options.batch.logs(jobWorkDir(this.options.workRoot, job), Math.min(tail, 10_000));
    return { lines: text === '' ? [] : text.split('\n') };
  }
}

/** Re-exported for the API's defaults in the OpenAPI document. */
export { JOB_DEFAULTS };
