/**
 * The rules of a job's request body (`POST /api/v1/jobs`, `wharf job create -f job.yaml`): every
 * field checked, every failure an InvalidArgumentError naming the field and the rule, so a bad job
 * is a 400 and never a half-written record. Also the two readings the controller needs: the error
 * threshold as a count or a percentage, and the schedule's slots. Pure: no I/O (what needs the file
 * system or the registry, such as "the input exists", is checked by the jobs service).
 */
import { CronExpressionParser } from 'cron-parser';
import { validCron, validTimezone } from './cron-spec.js';
import type { ConcurrencyPolicy, JobInput, JobOutput, JobSchedule, JobSpec } from './resources/job.js';
import { allowOnly, array, dnsLabel, fail, integer, object, path, text } from './validation.js';

/** Defaults of the optional fields. */
export const JOB_DEFAULTS = Object.freeze({
  batchSize: 256,
  concurrency: 2,
  errorThreshold: 0,
  timeoutSeconds: 300,
  retries: 2,
  timezone: 'UTC',
  concurrencyPolicy: 'Forbid' as ConcurrencyPolicy,
  historyLimit: 3,
});

/** A validated create request. */
export interface JobRequest {
  name: string;
  environment: string;
  spec: JobSpec;
}

const TOP = [
  'name',
  'environment',
  'model',
  'deployment',
  'input',
  'output',
  'batchSize',
  'concurrency',
  'errorThreshold',
  'timeout',
  'retries',
  'schedule',
];

/**
 * The job a request body asks for, defaults filled in.
 *
 * @example
 *   validateJobRequest({ name: 'score', environment: 'staging', model: { name: 'risk', version: '1.0.0' },
 *     input: { url: '/data/in.csv', format: 'csv' }, output: { url: '/data/out.jsonl', format: 'jsonl' } })
 */
export function validateJobRequest(body: unknown): JobRequest {
  const b = object(body, 'body');
  allowOnly(b, '', TOP);
  const name = dnsLabel(b.name, 'name');
  const environment = dnsLabel(b.environment, 'environment');
  if ((b.model === undefined) === (b.deployment === undefined))
    fail('model', 'exactly one of model and deployment is required');
  const spec: JobSpec = {
    ...(b.model === undefined ? {} : { model: modelRef(b.model) }),
    ...(b.deployment === undefined ? {} : { deployment: dnsLabel(b.deployment, 'deployment') }),
    input: input(b.input),
    output: output(b.output),
    batchSize: b.batchSize === undefined ? JOB_DEFAULTS.batchSize : integer(b.batchSize, 'batchSize', 1, 100_000),
    concurrency: b.concurrency === undefined ? JOB_DEFAULTS.concurrency : integer(b.concurrency, 'concurrency', 1, 64),
    errorThreshold: b.errorThreshold === undefined ? JOB_DEFAULTS.errorThreshold : threshold(b.errorThreshold),
    timeoutSeconds: b.timeout === undefined ? JOB_DEFAULTS.timeoutSeconds : seconds(b.timeout, 'timeout'),
    retries: b.retries === undefined ? JOB_DEFAULTS.retries : integer(b.retries, 'retries', 0, 10),
    ...(b.schedule === undefined ? {} : { schedule: schedule(b.schedule) }),
  };
  return { name, environment, spec };
}

function modelRef(value: unknown): { name: string; version: string } {
  const m = object(value, 'model');
  allowOnly(m, 'model', ['name', 'version']);
  return { name: text(m.name, 'model.name', 200), version: text(m.version, 'model.version', 100) };
}

function format(value: unknown, field: string): 'jsonl' | 'csv' {
  if (value !== 'jsonl' && value !== 'csv') fail(field, "must be 'jsonl' or 'csv'", value);
  return value;
}

function columnList(value: unknown, field: string): string[] {
  return array(value, field, 1, 10_000).map((c, i) => text(c, path(field, `[${i}]`), 200));
}

function location(value: unknown, field: string): string {
  const url = text(value, field, 2000);
  if (url.startsWith('s3://')) {
    if (!/^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](\/.*)?$/.test(url))
      fail(field, 'must be s3://BUCKET/KEY with a valid bucket name', value);
  } else if (url.includes('://')) fail(field, 'must be an absolute local path or an s3:// URL', value);
  // The control plane's working directory means nothing to the caller (the CLI makes paths absolute).
  else if (!url.startsWith('/')) fail(field, 'must be an absolute local path or an s3:// URL', value);
  return url;
}

function input(value: unknown): JobInput {
  const i = object(value, 'input');
  allowOnly(i, 'input', ['url', 'format', 'compression', 'columns', 'idField']);
  const compression = i.compression;
  if (compression !== undefined && compression !== 'auto' && compression !== 'gzip' && compression !== 'none')
    fail('input.compression', "must be 'auto', 'gzip' or 'none'", compression);
  return {
    url: location(i.url, 'input.url'),
    format: format(i.format, 'input.format'),
    ...(compression === undefined ? {} : { compression }),
    ...(i.columns === undefined ? {} : { columns: columnList(i.columns, 'input.columns') }),
    ...(i.idField === undefined ? {} : { idField: text(i.idField, 'input.idField', 200) }),
  };
}

function output(value: unknown): JobOutput {
  const o = object(value, 'output');
  allowOnly(o, 'output', ['url', 'format', 'joinColumns']);
  return {
    url: location(o.url, 'output.url'),
    format: format(o.format, 'output.format'),
    ...(o.joinColumns === undefined ? {} : { joinColumns: columnList(o.joinColumns, 'output.joinColumns') }),
  };
}

const PERCENT = /^(\d+(?:\.\d+)?)%$/;

function threshold(value: unknown): number | string {
  if (typeof value === 'number') return integer(value, 'errorThreshold', 0, Number.MAX_SAFE_INTEGER);
  const m = typeof value === 'string' ? PERCENT.exec(value) : null;
  if (m === null || Number(m[1]) > 100)
    fail('errorThreshold', "must be a row count (e.g. 100) or a percentage from 0% to 100% (e.g. '1%')", value);
  return value as string;
}

/**
 * The threshold as the batch task carries it.
 *
 * @example
 *   errorThresholdOf('1%') // { percent: 1 }
 *   errorThresholdOf(100)  // { count: 100 }
 */
export function errorThresholdOf(value: number | string): { count?: number; percent?: number } {
  if (typeof value === 'number') return { count: value };
  return { percent: Number(PERCENT.exec(value)?.[1] ?? 0) };
}

/** Seconds as a number (1 to 86400) or a string `30s`, `5m`, `2h`. */
function seconds(value: unknown, field: string): number {
  const rule = "must be seconds from 1 to 86400, as a number or a string such as '30s', '5m' or '1h'";
  if (typeof value === 'number') return integer(value, field, 1, 86_400);
  const m = typeof value === 'string' ? /^(\d+)(s|m|h)$/.exec(value) : null;
  if (m === null) fail(field, rule, value);
  const s = Number(m[1]) * { s: 1, m: 60, h: 3600 }[m[2] as 's' | 'm' | 'h'];
  if (s < 1 || s > 86_400) fail(field, rule, value);
  return s;
}

function schedule(value: unknown): JobSchedule {
  const s = object(value, 'schedule');
  allowOnly(s, 'schedule', ['cron', 'timezone', 'concurrencyPolicy', 'historyLimit']);
  const timezone = s.timezone === undefined ? JOB_DEFAULTS.timezone : validTimezone(s.timezone, 'schedule.timezone');
  const cron = validCron(s.cron, 'schedule.cron', timezone);
  const policy = s.concurrencyPolicy ?? JOB_DEFAULTS.concurrencyPolicy;
  if (policy !== 'Forbid' && policy !== 'Replace' && policy !== 'Allow')
    fail('schedule.concurrencyPolicy', "must be 'Forbid', 'Replace' or 'Allow'", policy);
  const historyLimit =
    s.historyLimit === undefined ? JOB_DEFAULTS.historyLimit : integer(s.historyLimit, 'schedule.historyLimit', 0, 100);
  return { cron, timezone, concurrencyPolicy: policy, historyLimit };
}

/**
 * The latest slot of `schedule` in `(afterMs, nowMs]`, or undefined when none fell in it. Slots
 * missed while the control plane was down collapse into this one: a template makes one run for
 * them, not one per slot.
 */
export function dueSlot(schedule: JobSchedule, afterMs: number, nowMs: number): number | undefined {
  // prev() is strictly before its current date; one millisecond later makes a slot at `now` count.
  const cron = CronExpressionParser.parse(schedule.cron, { tz: schedule.timezone, currentDate: new Date(nowMs + 1) });
  const last = cron.prev().getTime();
  return last > afterMs ? last : undefined;
}

/** The first slot of `schedule` strictly after `nowMs`. */
export function nextSlot(schedule: JobSchedule, nowMs: number): number {
  return CronExpressionParser.parse(schedule.cron, { tz: schedule.timezone, currentDate: new Date(nowMs) })
    .next()
    .getTime();
}
