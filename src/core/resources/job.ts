/**
 * Jobs: batch inference over a data set with one model version, once or on a schedule. A job with
 * a `schedule` is a template: it never runs itself, its runs are Jobs of their own that name it in
 * `scheduledBy` (the store's `parent` column, so the runs of a template are listed by index).
 * Keyed `<environment>/<name>`, indexed by environment.
 */
import { defineKind, keyPart, splitKey } from './define-kind.js';
import type { ModelReference } from './deployment.js';
import type { StoredFields } from './stored.js';

/** What a scheduled job does when a slot comes while an earlier run is still active (as CronJob's). */
export type ConcurrencyPolicy = 'Forbid' | 'Replace' | 'Allow';

/** When a template job makes runs. */
export interface JobSchedule {
  /** Five-field cron expression, e.g. `0 2 * * *`. */
  cron: string;
  /** IANA time zone the expression is read in (default `UTC`). */
  timezone: string;
  concurrencyPolicy: ConcurrencyPolicy;
  /** Finished runs kept; older ones are deleted (default 3). */
  historyLimit: number;
}

/**
 * Where rows come from: the same shape as the batch task's input (`protocol/batch-task.ts`, which
 * core may not import): a local path or `s3://bucket/prefix`, JSON Lines or CSV, maybe gzipped.
 */
export interface JobInput {
  url: string;
  format: 'jsonl' | 'csv';
  compression?: 'auto' | 'gzip' | 'none';
  /** CSV: the columns that make the input tensor's features, in order. */
  columns?: string[];
  /** The field or column that identifies a row (default: its line number). */
  idField?: string;
}

/** Where results go (the batch task's output): a local file or `s3://bucket/key`, and the input columns copied in. */
export interface JobOutput {
  url: string;
  format: 'jsonl' | 'csv';
  joinColumns?: string[];
}

/** What a job runs, as the user asked (validated by `core/job-spec.ts`). */
export interface JobSpec {
  /** The model version scored; exactly one of `model` and `deployment`. */
  model?: ModelReference;
  /** A deployment in the job's environment whose current model is scored (resolved at create). */
  deployment?: string;
  input: JobInput;
  output: JobOutput;
  /** Rows per ONNX Runtime run. */
  batchSize: number;
  /** Batches in flight at once. */
  concurrency: number;
  /** Failed rows allowed: a count (`100`) or a percentage of the rows read (`'1%'`), as written. */
  errorThreshold: number | string;
  /** Per batch: seconds it may take, and how often it is tried again before its rows count as failed. */
  timeoutSeconds: number;
  retries: number;
  schedule?: JobSchedule;
}

/** A job's coarse state. */
export type JobPhase = 'Pending' | 'Running' | 'Succeeded' | 'Failed' | 'Cancelled';

/** Observed state, written by the job reconciler only (the API resets it on retry). */
export interface JobStatus {
  phase: JobPhase;
  message?: string;
  rowsDone: number;
  rowsFailed: number;
  rowsTotal?: number;
  rowsPerSecond: number;
  /** Seconds left at the current rate, when the total is known. */
  etaSeconds?: number;
  /** Worker launches of this run so far (a crashed worker is launched again on the same work). */
  attempts: number;
  startedAt?: string;
  finishedAt?: string;
  /** Where the assembled output and the error file are (known from the start). */
  output?: string;
  errors?: string;
  /** Templates: the slot of the last run made, the next slot, the runs now active. */
  lastScheduleTime?: string;
  nextScheduleTime?: string;
  active?: string[];
}

/** A batch inference job, or a schedule's template of them. */
export interface Job extends StoredFields {
  name: string;
  environment: string;
  spec: JobSpec;
  /** The model version actually scored (the deployment's at create, or `spec.model`) and its artifact. */
  resolved?: ModelReference & { digest: string };
  /** Runs: the template job that made this one. */
  scheduledBy?: string;
  /** The schedule slot a run was made for. */
  scheduledFor?: string;
  /** Bumped by each retry: the run's work starts over in a work directory of that generation. */
  generation: number;
  /** Set by `cancel`; the reconciler stops the workers and ends the job `Cancelled`. */
  cancelRequested?: boolean;
  status: JobStatus;
  createdAt: string;
  createdBy: string;
}

/** What identifies a job. */
export interface JobId {
  environment: string;
  name: string;
}

/** Jobs in the store: keyed `<environment>/<name>`, indexed by environment and (runs) by template. */
export const jobKind = defineKind<Job, JobId, { environment?: string; scheduledBy?: string }>()({
  kind: 'Job',
  collection: 'jobs',
  key: (id) => `${keyPart('environment', id.environment)}/${keyPart('name', id.name)}`,
  idOfKey: (key) => {
    const [environment, name] = splitKey(key);
    return { environment, name };
  },
  id: (o) => ({ environment: o.environment, name: o.name }),
  index: (o) => ({ environment: o.environment, parent: o.scheduledBy ?? null }),
  filter: (f) => ({
    ...(f.environment === undefined ? {} : { environment: f.environment }),
    ...(f.scheduledBy === undefined ? {} : { parent: f.scheduledBy }),
  }),
});

/** Whether a job has ended (it changes no more unless retried). */
export function isJobFinished(phase: JobPhase): boolean {
  return phase === 'Succeeded' || phase === 'Failed' || phase === 'Cancelled';
}
