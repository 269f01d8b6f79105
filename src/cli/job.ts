/**
 * `wharf job`: `create -f job.yaml | --model M --version V --input … --output …` (relative local
 * paths are made absolute: against the job file's folder with `-f`, the working directory
 * otherwise), `get`, `list`, `logs`, `cancel`, `retry`. `--wait` follows a job until it ends: a
 * progress bar on a terminal (rows done / total, rows/s, ETA), one plain line per change otherwise;
 * the exit code is 0 when it succeeded and 1 when it failed or was cancelled.
 */
import { dirname, isAbsolute, resolve } from 'node:path';
import type { Command } from 'commander';
import { parse } from 'yaml';
import type { Job } from '../core/resources.js';
import { call } from './client.js';
import { CliError, EXIT_CODES, usageError } from './exit-codes.js';
import { readInputText } from './input-file.js';
import { type OutputFormat, outputFormat, printDocument, printTable } from './output.js';
import { action } from './run-action.js';
import { integer } from './options.js';

const path = (environment: string, name: string, tail = ''): string =>
  `/api/v1/environments/${encodeURIComponent(environment)}/jobs/${encodeURIComponent(name)}${tail}`;

interface CreateFlags {
  file?: string;
  name?: string;
  environment?: string;
  model?: string;
  version?: string;
  deployment?: string;
  input?: string;
  inputFormat?: string;
  idField?: string;
  output?: string;
  outputFormat?: string;
  batchSize?: number;
  concurrency?: number;
  errorThreshold?: string;
  wait?: boolean;
  o: OutputFormat;
}

const formatOf = (url: string): 'jsonl' | 'csv' => (/\.csv(\.gz)?$/.test(url) ? 'csv' : 'jsonl');

/** A local path made absolute against `base`; s3:// URLs as they are. */
function absolute(url: unknown, base: string): unknown {
  return typeof url === 'string' && !url.includes('://') && !isAbsolute(url) ? resolve(base, url) : url;
}

async function bodyOf(f: CreateFlags): Promise<Record<string, unknown>> {
  if (f.file !== undefined) {
    let doc: unknown;
    try {
      doc = parse(await readInputText(f.file));
    } catch (e) {
      throw usageError(`-f ${f.file}: ${(e as Error).message}`);
    }
    if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw usageError(`-f ${f.file}: not a mapping`);
    const body = { ...(doc as Record<string, unknown>) };
    const base = dirname(resolve(f.file));
    for (const side of ['input', 'output'] as const) {
      const part = body[side];
      if (typeof part === 'object' && part !== null)
        body[side] = { ...part, url: absolute((part as { url?: unknown }).url, base) };
    }
    if (f.environment !== undefined) body.environment = f.environment;
    return body;
  }
  if (f.name === undefined || f.input === undefined || f.output === undefined)
    throw usageError('give -f job.yaml, or NAME with --input and --output');
  if (f.model === undefined && f.deployment === undefined)
    throw usageError('give --model M --version V or --deployment D');
  if (f.model !== undefined && f.version === undefined) throw usageError('--model needs --version');
  return {
    name: f.name,
    environment: f.environment ?? 'development',
    ...(f.model === undefined ? { deployment: f.deployment } : { model: { name: f.model, version: f.version } }),
    input: {
      url: absolute(f.input, process.cwd()),
      format: f.inputFormat ?? formatOf(f.input),
      ...(f.idField === undefined ? {} : { idField: f.idField }),
    },
    output: { url: absolute(f.output, process.cwd()), format: f.outputFormat ?? formatOf(f.output) },
    ...(f.batchSize === undefined ? {} : { batchSize: f.batchSize }),
    ...(f.concurrency === undefined ? {} : { concurrency: f.concurrency }),
    ...(f.errorThreshold === undefined
      ? {}
      : { errorThreshold: /^\d+$/.test(f.errorThreshold) ? Number(f.errorThreshold) : f.errorThreshold }),
  };
}

const duration = (s: number | undefined): string =>
  s === undefined
    ? '?'
    : s >= 3600
      ? `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60)}m`
      : s >= 60
        ? `${Math.floor(s / 60)}m${s % 60}s`
        : `${s}s`;

/** One line of progress: `Running 4200/10000 rows (3 failed) 1830 rows/s ETA 4s`. */
export function progressLine(job: Job): string {
  const s = job.status;
  const total = s.rowsTotal === undefined ? '' : `/${s.rowsTotal}`;
  const failed = s.rowsFailed > 0 ? ` (${s.rowsFailed} failed)` : '';
  const eta = s.phase === 'Running' && s.etaSeconds !== undefined ? ` ETA ${duration(s.etaSeconds)}` : '';
  return `${s.phase} ${s.rowsDone}${total} rows${failed} ${s.rowsPerSecond} rows/s${eta}`;
}

/** A terminal progress bar of `width` cells, e.g. `[#####.....] 50%`. */
export function progressBar(job: Job, width = 30): string {
  const { rowsDone, rowsFailed, rowsTotal } = job.status;
  const share = rowsTotal === undefined || rowsTotal === 0 ? 0 : Math.min(1, (rowsDone + rowsFailed) / rowsTotal);
  const filled = Math.round(share * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${rowsTotal === undefined ? '  ?' : `${Math.round(share * 100)}%`.padStart(4)}`;
}

/** Follows the job until it ends; returns it finished. */
async function follow(environment: string, name: string): Promise<Job> {
  const tty = process.stdout.isTTY === true;
  let last = '';
  for (;;) {
    const job = await call<Job>(path(environment, name));
    const line = progressLine(job);
    if (tty) process.stdout.write(`\r\x1b[2K${progressBar(job)} ${line}`);
    else if (line !== last) process.stdout.write(`${line}\n`);
    last = line;
    if (job.status.phase === 'Succeeded' || job.status.phase === 'Failed' || job.status.phase === 'Cancelled') {
      if (tty) process.stdout.write('\n');
      return job;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

function outcome(job: Job): void {
  const s = job.status;
  process.stdout.write(
    `${job.environment}/${job.name}: ${s.phase}${s.message === undefined ? '' : `: ${s.message}`}\n`,
  );
  if (s.output !== undefined && s.phase === 'Succeeded') process.stdout.write(`  output: ${s.output}\n`);
  if (s.errors !== undefined && s.rowsFailed > 0) process.stdout.write(`  errors: ${s.errors}\n`);
  if (s.phase !== 'Succeeded') throw new CliError(`job ${job.name} ${s.phase.toLowerCase()}`, EXIT_CODES.failed.code);
}

function print(job: Job, format: OutputFormat): void {
  if (format !== 'table') return printDocument(job, format);
  const model = job.resolved === undefined ? '-' : `${job.resolved.name}@${job.resolved.version}`;
  process.stdout.write(
    `${job.environment}/${job.name} (${model}, generation ${job.generation})\n  ${progressLine(job)}\n`,
  );
  if (job.status.message !== undefined) process.stdout.write(`  ${job.status.message}\n`);
  if (job.spec.schedule !== undefined)
    process.stdout.write(
      `  schedule ${job.spec.schedule.cron} (${job.spec.schedule.timezone}), next ${job.status.nextScheduleTime ?? '-'}\n`,
    );
}

/** Registers `wharf job`. */
export function registerJob(program: Command): void {
  const job = program.command('job').description('Batch inference jobs, once or on a schedule');
  const env = ['-e, --environment <env>', 'environment', 'development'] as const;
  job
    .command('create [name]')
    .description('Create a job from a file (-f job.yaml) or from flags')
    .option('-f, --file <file>', 'the job as YAML or JSON')
    .option('-e, --environment <env>', "environment (default: the file's, else development)")
    .option('--model <name>', 'model name')
    .option('--version <version>', 'model version')
    .option('--deployment <name>', "score with the deployment's current model")
    .option('--input <path>', 'input file or folder (or s3://bucket/prefix)')
    .option('--input-format <format>', 'jsonl or csv (default: from the name)')
    .option('--id-field <name>', 'the column or field that identifies a row (default: its line number)')
    .option('--output <path>', 'output file (or s3://bucket/key)')
    .option('--output-format <format>', 'jsonl or csv (default: from the name)')
    .option('--batch-size <n>', 'rows per model run', integer(1, 100_000))
    .option('--concurrency <n>', 'batches in flight', integer(1, 64))
    .option('--error-threshold <n|p%>', 'failed rows allowed: a count or a percentage')
    .option('--wait', 'follow the job until it ends; exit 1 unless it succeeded')
    .option('-o <format>', 'table, json or yaml', outputFormat, 'table')
    .action(
      action(async (name: string | undefined, f: CreateFlags) => {
        const created = await call<Job>('/api/v1/jobs', { method: 'POST', json: await bodyOf({ ...f, name }) });
        if (f.wait === true && created.spec.schedule === undefined)
          return outcome(await follow(created.environment, created.name));
        print(created, f.o);
      }),
    );
  job
    .command('get <name>')
    .option(...env)
    .option('-o, --output <format>', 'table, json or yaml', outputFormat, 'table')
    .action(
      action(async (name: string, f: { environment: string; output: OutputFormat }) =>
        print(await call<Job>(path(f.environment, name)), f.output),
      ),
    );
  job
    .command('list')
    .option(...env)
    .option('--runs-of <template>', 'only the runs of this scheduled job')
    .action(
      action(async (f: { environment: string; runsOf?: string }) => {
        const q = new URLSearchParams({
          environment: f.environment,
          ...(f.runsOf === undefined ? {} : { scheduledBy: f.runsOf }),
        });
        const { items } = await call<{ items: Job[] }>(`/api/v1/jobs?${q.toString()}`);
        printTable(
          ['NAME', 'PHASE', 'ROWS', 'FAILED', 'ROWS/S', 'MODEL', 'CREATED'],
          items.map((j) => [
            j.name,
            j.spec.schedule === undefined ? j.status.phase : `scheduled ${j.spec.schedule.cron}`,
            `${j.status.rowsDone}${j.status.rowsTotal === undefined ? '' : `/${j.status.rowsTotal}`}`,
            String(j.status.rowsFailed),
            String(j.status.rowsPerSecond),
            j.resolved === undefined ? '-' : `${j.resolved.name}@${j.resolved.version}`,
            j.createdAt,
          ]),
        );
      }),
    );
  job
    .command('logs <name>')
    .option(...env)
    .option('--tail <n>', 'lines', integer(1, 10_000), 200)
    .action(
      action(async (name: string, f: { environment: string; tail: number }) => {
        const { lines } = await call<{ lines: string[] }>(`${path(f.environment, name, '/logs')}?tail=${f.tail}`);
        for (const line of lines) process.stdout.write(`${line}\n`);
      }),
    );
  for (const verb of ['cancel', 'retry'] as const)
    job
      .command(`${verb} <name>`)
      .option(...env)
      .option('--wait', 'follow the job until it ends; exit 1 unless it succeeded')
      .action(
        action(async (name: string, f: { environment: string; wait?: boolean }) => {
          const j = await call<Job>(path(f.environment, name, `/${verb}`), { method: 'POST' });
          if (f.wait === true) return outcome(await follow(j.environment, j.name));
          process.stdout.write(
            `${j.environment}/${j.name}: ${verb === 'cancel' ? 'cancel requested' : `generation ${j.generation} started`}\n`,
          );
        }),
      );
}
