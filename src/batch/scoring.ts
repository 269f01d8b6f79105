/**
 * Runs one batch of rows through the model with a time limit and retries. When a batch still fails,
 * it is split in halves, and the halves again, to find the rows that fail: one bad row must not fail
 * the good rows of its batch. A budget of extra runs bounds the search, so a model that fails every
 * run costs a few runs per batch, not two per row.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { allocateInput, type BatchModel, type BatchValues } from './model.js';
import type { Row, RowError } from './rows.js';

/** Per-batch policy: time limit, retries, and test-only faults. */
export interface ScoringOptions {
  readonly timeoutMs: number;
  readonly retries: number;
  /**
   * TEST ONLY: faults to exercise the failure paths. `poisonValue`: a run fails when any row's first
   * value equals it (a row the model cannot take); `latencyMs`: every run waits this long first.
   */
  readonly faults?: { readonly poisonValue?: number; readonly latencyMs?: number };
}

/** A batch's result, in row order: runs of rows with their values, and rows that failed. */
export type Scored =
  | { readonly kind: 'ok'; readonly rows: readonly Row[]; readonly values: BatchValues }
  | { readonly kind: 'failed'; readonly error: RowError };

/** Runs `rows` once, within the time limit. */
async function runOnce(model: BatchModel, rows: readonly Row[], options: ScoringOptions): Promise<BatchValues> {
  const { faults } = options;
  const features = model.inputs.map((spec, k) => {
    const buf = allocateInput(spec.type, rows.length * spec.width);
    for (let i = 0; i < rows.length; i++) buf.set(rows[i]!.values[k]!, i * spec.width);
    return buf;
  });
  const attempt = async (): Promise<BatchValues> => {
    if (faults?.latencyMs) await sleep(faults.latencyMs);
    if (faults?.poisonValue !== undefined && rows.some((r) => r.values[0]?.[0] === faults.poisonValue))
      throw new Error('injected fault: the model cannot take this row (test-only --inject-poison-value)');
    return model.run(rows.length, features);
  };
  const controller = new AbortController();
  // ONNX Runtime cannot cancel a run: a timed-out run finishes in the background and its result is dropped.
  const timeout = sleep(options.timeoutMs, undefined, { signal: controller.signal }).then(() => {
    throw new Error(`batch timed out after ${options.timeoutMs} ms`);
  });
  timeout.catch(() => {});
  try {
    return await Promise.race([attempt(), timeout]);
  } finally {
    controller.abort();
  }
}

/** Scores one batch: retries, then bisection. Never throws for a model failure. */
export async function scoreBatch(model: BatchModel, rows: readonly Row[], options: ScoringOptions): Promise<Scored[]> {
  if (rows.length === 0) return [];
  let reason = '';
  for (let attempt = 0; attempt <= options.retries; attempt++) {
    try {
      return [{ kind: 'ok', rows, values: await runOnce(model, rows, options) }];
    } catch (err) {
      reason = (err as Error).message;
    }
  }
  const failAll = (part: readonly Row[], why: string): Scored[] =>
    part.map((r) => ({ kind: 'failed', error: { file: r.file, line: r.line, id: r.id, reason: why } }));
  if (rows.length === 1) return failAll(rows, `${reason} (after ${options.retries + 1} attempts)`);
  let budget = 4 * Math.ceil(Math.log2(rows.length)) + 4;
  const bisect = async (part: readonly Row[], why: string): Promise<Scored[]> => {
    if (part.length === 1) return failAll(part, why);
    const mid = part.length >> 1;
    const out: Scored[] = [];
    for (const half of [part.slice(0, mid), part.slice(mid)]) {
      if (budget <= 0) {
        out.push(...failAll(half, `${why} (the batch failed; too many failures to find the failing rows)`));
        continue;
      }
      budget--;
      try {
        out.push({ kind: 'ok', rows: half, values: await runOnce(model, half, options) });
      } catch (err) {
        out.push(...(await bisect(half, (err as Error).message)));
      }
    }
    return out;
  };
  return bisect(rows, reason);
}
