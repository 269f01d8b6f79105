/**
 * `wharf job-worker --task FILE`: one batch worker, as the job controller starts it (hidden from
 * help: people run jobs with `wharf job`). Exit codes are the contract's BATCH_EXIT: 0 succeeded,
 * 3 failed by its error threshold, 2 the task cannot run (bad task file, missing input, a model
 * that does not fit the columns); anything else is a crash, and the controller starts it again.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { BATCH_EXIT, type BatchResult } from '../protocol/batch-task.js';
import { InputUnavailableError } from '../batch/input-files.js';
import { readTask, InvalidTaskError } from '../batch/task.js';
import { writeAtomic } from '../batch/checkpoint.js';
import { errorsPath, runWorker } from '../batch/worker.js';
import { decimal, integer } from './options.js';

interface Flags {
  task: string;
  partRows?: number;
  injectPoisonValue?: number;
  injectLatencyMs?: number;
}

/** Registers the (hidden) command on the program. */
export function registerJobWorker(program: Command): void {
  program
    .command('job-worker', { hidden: true })
    .description('Run one batch worker on a task file (started by the job controller)')
    .requiredOption('--task <file>', 'the BatchTask JSON file')
    .option('--part-rows <n>', 'rows per committed output part for a new job', integer(1, 100_000_000))
    .option(
      '--inject-poison-value <x>',
      'TEST ONLY: runs fail when a row starts with this value',
      decimal(-1e300, 1e300),
    )
    .option('--inject-latency-ms <ms>', 'TEST ONLY: add latency to every run', integer(0, 600_000))
    .action(async (flags: Flags) => {
      process.exit(await workerMain(flags));
    });
}

async function workerMain(flags: Flags): Promise<number> {
  const log = (line: string): void => void process.stderr.write(`job-worker: ${line}\n`);
  let workDir: string | undefined;
  try {
    const task = await readTask(flags.task);
    workDir = task.workDir;
    const faults =
      flags.injectPoisonValue !== undefined || flags.injectLatencyMs !== undefined
        ? { poisonValue: flags.injectPoisonValue, latencyMs: flags.injectLatencyMs }
        : undefined;
    const result = await runWorker(task, { partRows: flags.partRows, faults, log });
    log(`${result.outcome}: ${result.message}`);
    return result.outcome === 'succeeded' ? BATCH_EXIT.succeeded : BATCH_EXIT.failed;
  } catch (err) {
    if (!(err instanceof InvalidTaskError || err instanceof InputUnavailableError)) throw err;
    log(err.message);
    // The controller reads result.json for the message; the exit code says it must not restart.
    if (workDir !== undefined) await writeRefusal(workDir, err.message).catch(() => {});
    return BATCH_EXIT.invalidTask;
  }
}

async function writeRefusal(workDir: string, message: string): Promise<void> {
  await mkdir(workDir, { recursive: true });
  const result: BatchResult = {
    rowsDone: 0,
    rowsFailed: 0,
    partsDone: 0,
    rowsPerSecond: 0,
    updatedAt: new Date().toISOString(),
    outcome: 'failed',
    message,
    output: '',
    errors: errorsPath(workDir),
  };
  await writeAtomic(join(workDir, 'result.json'), JSON.stringify(result, null, 2) + '\n');
}
