import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { test } from 'node:test';
import { AdaptiveBatcher, DirectScheduler, type Job } from './batcher.js';
import { datatypeInfo } from './datatypes.js';
import type { Executor, Tensor } from './executor.js';
import type { TensorSpec } from './model.js';
import { eventually, letTimePass } from '../../test/support/eventually.js';

const fp32 = datatypeInfo('FP32')!;
const input: TensorSpec = { name: 'x', datatype: 'FP32', info: fp32, shape: [-1, -1], symbols: ['batch', undefined] };
const output: TensorSpec = { name: 'y', datatype: 'FP32', info: fp32, shape: [-1, -1], symbols: ['batch', undefined] };

/** An identity model that records the row count of every run and can be slowed down. */
class RecordingExecutor implements Executor {
  readonly runs: number[] = [];
  constructor(
    private readonly delayMs = 0,
    private readonly fail = false,
  ) {}
  async execute(inputs: readonly Tensor[]): Promise<Tensor[]> {
    this.runs.push(inputs[0]!.shape[0]!);
    if (this.delayMs) await letTimePass(this.delayMs, 'a slow model: what arrives meanwhile queues for the next run');
    if (this.fail) throw new Error('boom');
    return [inputs[0]!];
  }
}

function job(rows: number[][]): Job {
  const width = rows[0]?.length ?? 0;
  return {
    inputs: [{ spec: input, shape: [rows.length, width], data: new Float32Array(rows.flat()) }],
    outputs: [output],
  };
}

const rowsOf = (t: Tensor[]): number[][] => {
  const [rows, width] = t[0]!.shape as [number, number];
  const data = Array.from(t[0]!.data as Float32Array);
  return Array.from({ length: rows }, (_, r) => data.slice(r * width, (r + 1) * width));
};

test('a lone request runs at once, without waiting for the batch delay', async () => {
  const exec = new RecordingExecutor();
  const batcher = new AdaptiveBatcher(exec, { maxDelayUs: 500_000 });
  const started = performance.now();
  assert.deepEqual(rowsOf(await batcher.submit(job([[1, 2]]))), [[1, 2]]);
  assert.ok(performance.now() - started < 100, 'a lone request must not wait for the 500 ms delay');
  assert.deepEqual(exec.runs, [1]);
});

test('requests that arrive while a run is busy are concatenated and split back', async () => {
  const exec = new RecordingExecutor(20);
  const batcher = new AdaptiveBatcher(exec);
  const first = batcher.submit(job([[0, 0]]));
  await eventually(() => exec.runs.length === 1, { timeoutMs: 1_000, message: 'the first run to be in progress' });
  const rest = [1, 2, 3, 4].map((i) => batcher.submit(job(Array.from({ length: i }, () => [i, -i]))));
  assert.deepEqual(rowsOf(await first), [[0, 0]]);
  const results = await Promise.all(rest);
  results.forEach((r, n) =>
    assert.deepEqual(
      rowsOf(r),
      Array.from({ length: n + 1 }, () => [n + 1, -(n + 1)]),
    ),
  );
  assert.deepEqual(exec.runs, [1, 1 + 2 + 3 + 4]);
});

test('requests with different non-batch dimensions never share a run', async () => {
  const exec = new RecordingExecutor(10);
  const batcher = new AdaptiveBatcher(exec);
  const busy = batcher.submit(job([[9, 9]]));
  await eventually(() => exec.runs.length === 1, { timeoutMs: 1_000, message: 'the busy run to be in progress' });
  const narrow = batcher.submit(job([[1, 1]]));
  const wide = batcher.submit(job([[2, 2, 2]]));
  const narrow2 = batcher.submit(job([[3, 3]]));
  await busy;
  assert.deepEqual(rowsOf(await narrow), [[1, 1]]);
  assert.deepEqual(rowsOf(await wide), [[2, 2, 2]]);
  assert.deepEqual(rowsOf(await narrow2), [[3, 3]]);
  assert.deepEqual(exec.runs, [1, 2, 1]);
});

test('a batch never exceeds maxBatchSize rows, but an oversized request still runs alone', async () => {
  const exec = new RecordingExecutor(5);
  const batcher = new AdaptiveBatcher(exec, { maxBatchSize: 4 });
  const busy = batcher.submit(job([[0]]));
  await eventually(() => exec.runs.length === 1, { timeoutMs: 1_000, message: 'the busy run to be in progress' });
  const jobs = [2, 2, 3, 6, 1].map((n) => batcher.submit(job(Array.from({ length: n }, (_, i) => [i]))));
  await Promise.all([busy, ...jobs]);
  assert.equal(
    exec.runs.reduce((a, b) => a + b, 0),
    1 + 14,
  );
  assert.ok(
    exec.runs.filter((r) => r !== 6).every((r) => r <= 4),
    `runs ${exec.runs.join(',')}`,
  );
  assert.ok(exec.runs.includes(6));
});

test('a failed run fails every request in it and the batcher keeps working', async () => {
  const failing = new RecordingExecutor(5, true);
  const batcher = new AdaptiveBatcher(failing);
  const all = [batcher.submit(job([[1]])), batcher.submit(job([[2]]))];
  for (const p of all) await assert.rejects(p, /boom/);
  await assert.rejects(batcher.submit(job([[3]])), /boom/);
  assert.equal(batcher.pending, 0);
});

test('under load, maxDelayUs holds a small batch so it can fill', async () => {
  const exec = new RecordingExecutor();
  const batcher = new AdaptiveBatcher(exec, { maxDelayUs: 30_000, maxBatchSize: 8 });
  // Three requests in one turn: the first starts alone at once, the other two share the next run,
  // after which the batcher counts as under load.
  await Promise.all([batcher.submit(job([[0]])), batcher.submit(job([[0]])), batcher.submit(job([[0]]))]);
  const a = batcher.submit(job([[1]]));
  await letTimePass(5, 'b arrives after a, but inside the 30 ms maxDelayUs that holds a');
  const b = batcher.submit(job([[2]]));
  await Promise.all([a, b]);
  assert.deepEqual(exec.runs, [1, 2, 2]);
});

test('a client sending one request after another is never held by maxDelayUs', async () => {
  const exec = new RecordingExecutor();
  const batcher = new AdaptiveBatcher(exec, { maxDelayUs: 200_000 });
  const started = performance.now();
  for (let i = 0; i < 5; i++) await batcher.submit(job([[i]]));
  assert.ok(performance.now() - started < 100, `5 sequential requests took ${performance.now() - started} ms`);
  assert.deepEqual(exec.runs, [1, 1, 1, 1, 1]);
});

test('without batching, each job runs alone and gets its own answer or its own error', async () => {
  const runs: number[] = [];
  const exec: Executor = {
    async execute(inputs) {
      const first = (inputs[0]!.data as Float32Array)[0]!;
      runs.push(inputs[0]!.shape[0]!);
      if (first < 0) throw new Error(`bad row ${first}`);
      return [inputs[0]!];
    },
  };
  const direct = new DirectScheduler(exec);
  const results = await Promise.allSettled([1, -2, 3].map((v) => direct.submit(job([[v, v]]))));
  assert.deepEqual(rowsOf((results[0] as PromiseFulfilledResult<Tensor[]>).value), [[1, 1]]);
  assert.match(String((results[1] as PromiseRejectedResult).reason), /bad row -2/);
  assert.deepEqual(rowsOf((results[2] as PromiseFulfilledResult<Tensor[]>).value), [[3, 3]]);
  assert.deepEqual(runs, [1, 1, 1]);
  assert.equal(direct.pending, 0);
});
