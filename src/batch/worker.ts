/**
 * The batch worker: streams a task's input, decodes rows, runs them through ONNX Runtime in this
 * process in batches (`concurrency` in flight), and writes the output in parts, each committed with a
 * checkpoint; at the end it assembles the parts, in input order, into the output. Started again on the
 * same work directory it skips what is committed and goes on, so the output is the same bytes as that
 * of a run never interrupted.
 *
 * Memory stays bounded whatever the input's size: the reader is pulled only while fewer than
 * `concurrency` batches are in flight, and a part (`partRows` rows) is the most output held at once.
 *
 * Shards: with `shard` set, the worker takes the input's records `r` where `r % count === index`.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { BatchProgress, BatchResult, BatchTask } from '../protocol/batch-task.js';
import { partBytes, writeTarget } from './assemble.js';
import {
  initialCheckpoint,
  partPath,
  readCheckpoint,
  taskKey,
  writeAtomic,
  writeCheckpoint,
  type Checkpoint,
} from './checkpoint.js';
import { listInputFiles } from './input-files.js';
import { loadBatchModel, verifyDigest, type BatchModel } from './model.js';
import { errorLine, RowFormatter } from './output-format.js';
import { readRecords } from './records.js';
import { isRowError, RowDecoder, type Row, type RowError } from './rows.js';
import { scoreBatch, type ScoringOptions } from './scoring.js';

/** Options of {@link runWorker} beyond the task. */
export interface WorkerOptions {
  /** Rows per part for a new job (default: a multiple of batchSize of at least 10,000). */
  readonly partRows?: number;
  /** TEST ONLY: faults injected into every run (see {@link ScoringOptions}). */
  readonly faults?: ScoringOptions['faults'];
  /** Where progress lines go (default: nowhere). */
  readonly log?: (line: string) => void;
}

/** The error file's path in a work directory. */
export const errorsPath = (workDir: string): string => join(workDir, 'errors.jsonl');

/** A batch in flight: its formatted output once scored, and where the input stands after it. */
interface InFlight {
  readonly result: Promise<{ out: string; err: string; done: number; failed: number }>;
  readonly endsPart: boolean;
  readonly recordsConsumed: number;
}

/** Runs (or resumes) `task` to its end and returns what it wrote to result.json. */
export async function runWorker(task: BatchTask, options: WorkerOptions = {}): Promise<BatchResult> {
  const log = options.log ?? (() => {});
  await mkdir(join(task.workDir, 'parts'), { recursive: true });
  await verifyDigest(task.model.artifactPath, task.model.digest);
  const model = await loadBatchModel(task.model.artifactPath);
  try {
    const key = taskKey(task);
    let cp = await readCheckpoint(task.workDir);
    if (cp && cp.taskKey !== key) {
      log('the work directory holds another task; starting over');
      cp = undefined;
    }
    const partRows = options.partRows ?? task.batchSize * Math.max(1, Math.ceil(10_000 / task.batchSize));
    cp ??= initialCheckpoint(key, partRows);
    if (cp.partsDone > 0) log(`resuming after part ${cp.partsDone} (${cp.rowsRead} rows)`);
    const formatter = new RowFormatter(task.output.format, task.output.joinColumns ?? [], model.outputs);
    const started = { at: performance.now(), rows: cp.rowsRead };
    const progress = (c: Checkpoint): BatchProgress => ({
      rowsDone: c.rowsDone,
      rowsFailed: c.rowsFailed,
      ...(c.inputDone ? { rowsTotal: c.rowsRead } : {}),
      partsDone: c.partsDone,
      rowsPerSecond: Math.round((c.rowsRead - started.rows) / Math.max(1e-3, (performance.now() - started.at) / 1000)),
      updatedAt: new Date().toISOString(),
    });
    if (!cp.inputDone && !overCount(task, cp)) {
      cp = await processInput(task, model, formatter, cp, options, async (c) => {
        await writeAtomic(join(task.workDir, 'progress.json'), JSON.stringify(progress(c)) + '\n');
        log(`part ${c.partsDone}: ${c.rowsDone} rows done, ${c.rowsFailed} failed`);
      });
    }
    const verdict = thresholdVerdict(task, cp);
    await writeTarget(errorsPath(task.workDir), partBytes(task.workDir, cp.partsDone, 'err'));
    if (verdict === undefined)
      await writeTarget(task.output.url, partBytes(task.workDir, cp.partsDone, 'out', formatter.header()));
    const result: BatchResult = {
      ...progress(cp),
      outcome: verdict === undefined ? 'succeeded' : 'failed',
      message:
        verdict === undefined
          ? `${cp.rowsDone} rows scored, ${cp.rowsFailed} failed`
          : `${verdict}; the output was not assembled`,
      output: task.output.url,
      errors: errorsPath(task.workDir),
    };
    await writeAtomic(join(task.workDir, 'progress.json'), JSON.stringify(progress(cp)) + '\n');
    await writeAtomic(join(task.workDir, 'result.json'), JSON.stringify(result, null, 2) + '\n');
    return result;
  } finally {
    await model.release();
  }
}

function overCount(task: BatchTask, cp: Checkpoint): boolean {
  return task.errorThreshold.count !== undefined && cp.rowsFailed > task.errorThreshold.count;
}

/** Why the job failed by its error threshold, or undefined when it did not. */
export function thresholdVerdict(task: BatchTask, cp: Checkpoint): string | undefined {
  const { count, percent } = task.errorThreshold;
  if (count !== undefined && cp.rowsFailed > count)
    return `${cp.rowsFailed} rows failed, more than the error threshold of ${count}${cp.inputDone ? '' : ' (stopped early)'}`;
  if (percent !== undefined && cp.rowsRead > 0 && (cp.rowsFailed / cp.rowsRead) * 100 > percent)
    return `${cp.rowsFailed} of ${cp.rowsRead} rows failed (${((cp.rowsFailed / cp.rowsRead) * 100).toFixed(2)}%), more than the error threshold of ${percent}%`;
  return undefined;
}

/** Reads the input from where `cp` stands, committing part after part; returns the last checkpoint. */
async function processInput(
  task: BatchTask,
  model: BatchModel,
  formatter: RowFormatter,
  start: Checkpoint,
  options: WorkerOptions,
  onCommit: (cp: Checkpoint) => Promise<void>,
): Promise<Checkpoint> {
  const files = await listInputFiles(task.input.url);
  const decoder = new RowDecoder(model.inputs, task.input, task.output, files.length > 1);
  const scoring: ScoringOptions = { timeoutMs: task.batchTimeoutMs, retries: task.retries, faults: options.faults };
  let cp = start;
  const inflight: InFlight[] = [];
  let part = { out: [] as string[], err: [] as string[], done: 0, failed: 0 };
  let partCount = 0; // rows of this shard in the part being built (dispatched or not)
  let batch: (Row | RowError)[] = [];
  let batchRows = 0;

  const dispatch = (endsPart: boolean, recordsConsumed: number): void => {
    const items = batch;
    batch = [];
    batchRows = 0;
    inflight.push({ result: scoreItems(model, formatter, items, scoring), endsPart, recordsConsumed });
  };
  const commit = async (recordsConsumed: number, inputDone: boolean): Promise<void> => {
    const n = cp.partsDone + 1;
    await writeAtomic(partPath(task.workDir, n, 'out'), part.out.join(''));
    await writeAtomic(partPath(task.workDir, n, 'err'), part.err.join(''));
    cp = {
      ...cp,
      partsDone: n,
      recordsConsumed,
      rowsRead: cp.rowsRead + part.done + part.failed,
      rowsDone: cp.rowsDone + part.done,
      rowsFailed: cp.rowsFailed + part.failed,
      inputDone,
    };
    await writeCheckpoint(task.workDir, cp);
    part = { out: [], err: [], done: 0, failed: 0 };
    await onCommit(cp);
  };
  /** Takes the oldest batch's result into the part; commits the part when that batch ends it. */
  const drainOne = async (): Promise<void> => {
    const head = inflight.shift()!;
    const r = await head.result;
    part.out.push(r.out);
    part.err.push(r.err);
    part.done += r.done;
    part.failed += r.failed;
    if (head.endsPart) await commit(head.recordsConsumed, false);
  };

  const shard = task.shard;
  let index = -1;
  for await (const record of readRecords(files, task.input)) {
    index++;
    if (index < start.recordsConsumed) continue;
    if (shard && index % shard.count !== shard.index) continue;
    const item = decoder.decode(record);
    batch.push(item);
    partCount++;
    if (!isRowError(item)) batchRows++;
    const endsPart = partCount === cp.partRows;
    if (endsPart || batchRows === task.batchSize) {
      dispatch(endsPart, index + 1);
      if (endsPart) partCount = 0;
      while (inflight.length >= task.concurrency) await drainOne();
      if (overCount(task, cp)) break;
    }
  }
  if (overCount(task, cp)) {
    // Let the batches in flight finish (their rows are not committed), then stop.
    await Promise.allSettled(inflight.map((f) => f.result));
    return cp;
  }
  if (batch.length > 0) dispatch(false, index + 1);
  while (inflight.length > 0) await drainOne();
  // The last part holds whatever is left (possibly nothing): committing it marks the input done.
  await commit(index + 1, true);
  return cp;
}

/** Scores a batch's rows and formats them, keeping decode errors in their input order. */
async function scoreItems(
  model: BatchModel,
  formatter: RowFormatter,
  items: readonly (Row | RowError)[],
  scoring: ScoringOptions,
): Promise<{ out: string; err: string; done: number; failed: number }> {
  const rows = items.filter((i): i is Row => !isRowError(i));
  const scored = await scoreBatch(model, rows, scoring);
  const perRow: (string | RowError)[] = [];
  for (const s of scored) {
    if (s.kind === 'failed') perRow.push(s.error);
    else for (let i = 0; i < s.rows.length; i++) perRow.push(formatter.line(s.rows[i]!, s.values, i));
  }
  let out = '';
  let err = '';
  let done = 0;
  let failed = 0;
  let k = 0;
  for (const item of items) {
    const r = isRowError(item) ? item : perRow[k++]!;
    if (typeof r === 'string') {
      out += r;
      done++;
    } else {
      err += errorLine(r);
      failed++;
    }
  }
  return { out, err, done, failed };
}
