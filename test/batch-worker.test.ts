/**
 * The batch worker end to end on real files and real ONNX Runtime: JSON Lines and CSV in and out,
 * ids and join columns, the scores the model's own float64 reference gives, bad rows in the error
 * file with their line and reason, one bad row found by bisection, timeouts, the error threshold,
 * and refused tasks (exit codes of the contract).
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { runWorker } from '../src/batch/worker.js';
import { readmissionProbability } from '../src/demo/readmission.js';
import { BATCH_EXIT, type BatchResult } from '../src/protocol/batch-task.js';
import {
  batchFixture,
  featureRows,
  readmissionTask,
  runWorkerProcess,
  writeTaskFile,
  type BatchFixture,
} from './support/batch.js';

let fx: BatchFixture;
before(async () => {
  fx = await batchFixture();
});

const lines = async (path: string): Promise<unknown[]> =>
  (await readFile(path, 'utf8'))
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as unknown);

test('JSON Lines: feature arrays and OIP inputs objects are scored in input order; bad lines go to the error file', async () => {
  const rows = featureRows(300, 11);
  const text = rows
    .map((r, i) => {
      if (i === 10) return '{"key":"k10","inputs":[{"name":"input","data":[1,2]}]}'; // wrong width
      if (i === 20) return 'not json';
      if (i === 30) return '{"key":"k30","inputs":[{"name":"input","data":[' + '"x",'.repeat(15) + '"x"]}]}';
      return i % 2 === 0
        ? JSON.stringify({
            key: `k${i}`,
            segment: i % 3,
            inputs: [{ name: 'input', shape: [1, 16], datatype: 'FP32', data: r }],
          })
        : JSON.stringify({ key: `k${i}`, segment: i % 3, inputs: { input: r } });
    })
    .join('\n');
  const input = join(fx.dir, 'in1.jsonl.gz');
  await writeFile(input, gzipSync(text + '\n'));
  const task = readmissionTask(fx, 'jsonl', {
    input: { url: input, format: 'jsonl', idField: 'key' },
    output: { url: join(fx.dir, 'jsonl', 'out.jsonl'), format: 'jsonl', joinColumns: ['segment'] },
    batchSize: 16,
  });
  const result = await runWorker(task, { partRows: 50 });
  assert.equal(result.outcome, 'succeeded', result.message);
  assert.equal(result.rowsDone, 297);
  assert.equal(result.rowsFailed, 3);
  assert.equal(result.rowsTotal, 300);
  const out = (await lines(task.output.url)) as { id: string; segment: number; probability: number; label: number }[];
  const expected = rows.map((r, i) => ({ i, r })).filter(({ i }) => ![10, 20, 30].includes(i));
  assert.equal(out.length, expected.length);
  out.forEach((o, k) => {
    const { i, r } = expected[k]!;
    assert.equal(o.id, `k${i}`);
    assert.equal(o.segment, i % 3);
    const p = readmissionProbability(r);
    assert.ok(Math.abs(o.probability - p) < 1e-5, `row ${i}: ${o.probability} vs ${p}`);
    assert.equal(o.label, p > 0.5 ? 1 : 0);
  });
  const errors = (await lines(result.errors)) as { line: number; id: unknown; reason: string }[];
  assert.deepEqual(
    errors.map((e) => [e.line, e.id]),
    [
      [11, 'k10'],
      [21, 21],
      [31, 'k30'],
    ],
  );
  assert.match(errors[0]!.reason, /wrong width: 2 values for input 'input', the model takes 16/);
  assert.match(errors[1]!.reason, /not JSON/);
  assert.match(errors[2]!.reason, /value 1 is not a number/);
  const progress = JSON.parse(await readFile(join(task.workDir, 'progress.json'), 'utf8')) as BatchResult;
  assert.equal(progress.partsDone, 7); // 6 full parts of 50 rows, and the closing (empty) one
});

test('CSV in, CSV out: header mapping, RFC 4180 quoting both ways, join columns, wrong width and bad cells', async () => {
  const rows = featureRows(40, 12);
  const names = Array.from({ length: 16 }, (_, j) => `f${j}`);
  const body = rows.map((r, i) => {
    if (i === 5) return `"id,5",note,x,` + r.slice(1).join(','); // not a number
    if (i === 6) return `id6,note,` + r.slice(1).join(','); // one field short
    return `"id,${i}","a ""quoted"" note",${r.join(',')}`;
  });
  const input = join(fx.dir, 'in2.csv');
  await writeFile(input, [`patient,note,${names.join(',')}`, ...body].join('\r\n') + '\r\n');
  const task = readmissionTask(fx, 'csv', {
    input: { url: input, format: 'csv', idField: 'patient', columns: names },
    output: { url: join(fx.dir, 'csv', 'out.csv'), format: 'csv', joinColumns: ['note'] },
    batchSize: 8,
  });
  const result = await runWorker(task);
  assert.equal(result.outcome, 'succeeded', result.message);
  const out = (await readFile(task.output.url, 'utf8')).split('\n');
  assert.equal(out[0], 'id,note,probability,label');
  assert.equal(out.length, 1 + 38 + 1);
  const first = out[1]!;
  assert.ok(first.startsWith('"id,0","a ""quoted"" note",'), first);
  const p0 = Number(first.split(',').at(-2));
  assert.ok(Math.abs(p0 - readmissionProbability(rows[0]!)) < 1e-5);
  const errors = (await lines(result.errors)) as { line: number; id: string; reason: string }[];
  assert.deepEqual(
    errors.map((e) => [e.line, e.id]),
    [
      [7, 'id,5'],
      [8, 'id6'],
    ],
  );
  assert.match(errors[0]!.reason, /column 'f0' is not a number/);
  assert.match(errors[1]!.reason, /wrong width: 17 fields, the header has 18/);
});

test('one row the model cannot take fails alone: bisection keeps the other rows of its batch', async () => {
  const rows = featureRows(256, 13);
  rows[77]![0] = 42.5;
  const input = join(fx.dir, 'in3.jsonl');
  await writeFile(input, rows.map((r) => JSON.stringify(r)).join('\n'));
  const task = readmissionTask(fx, 'poison', {
    input: { url: input, format: 'jsonl' },
    output: { url: join(fx.dir, 'poison', 'out.jsonl'), format: 'jsonl' },
    batchSize: 128,
    retries: 2,
  });
  const result = await runWorker(task, { faults: { poisonValue: 42.5 } });
  assert.equal(result.rowsDone, 255);
  assert.equal(result.rowsFailed, 1);
  const errors = (await lines(result.errors)) as { line: number; reason: string }[];
  assert.equal(errors.length, 1);
  assert.equal(errors[0]!.line, 78);
  assert.match(errors[0]!.reason, /injected fault/);
  const out = (await lines(task.output.url)) as { id: number }[];
  assert.deepEqual(
    out.map((o) => o.id),
    Array.from({ length: 256 }, (_, i) => i + 1).filter((id) => id !== 78),
  );
});

test('a batch that runs past its time limit on every attempt fails its rows, with the reason', async () => {
  const input = join(fx.dir, 'in4.jsonl');
  await writeFile(
    input,
    featureRows(2, 14)
      .map((r) => JSON.stringify(r))
      .join('\n'),
  );
  const task = readmissionTask(fx, 'slow', {
    input: { url: input, format: 'jsonl' },
    output: { url: join(fx.dir, 'slow', 'out.jsonl'), format: 'jsonl' },
    batchTimeoutMs: 30,
    retries: 1,
    errorThreshold: { count: 5 },
  });
  const result = await runWorker(task, { faults: { latencyMs: 300 } });
  assert.equal(result.outcome, 'succeeded');
  assert.equal(result.rowsFailed, 2);
  const errors = (await lines(result.errors)) as { reason: string }[];
  assert.match(errors[0]!.reason, /batch timed out after 30 ms/);
});

test('past errorThreshold the worker exits 3, says so, and assembles no output', async () => {
  const input = join(fx.dir, 'in5.jsonl');
  const good = featureRows(60, 15).map((r) => JSON.stringify(r));
  await writeFile(input, good.map((l, i) => (i % 4 === 0 ? 'bad' : l)).join('\n'));
  const task = readmissionTask(fx, 'threshold', {
    input: { url: input, format: 'jsonl' },
    output: { url: join(fx.dir, 'threshold', 'out.jsonl'), format: 'jsonl' },
    errorThreshold: { percent: 10 },
  });
  const { code, stderr } = await runWorkerProcess(await writeTaskFile(fx, task));
  assert.equal(code, BATCH_EXIT.failed, stderr);
  const result = JSON.parse(await readFile(join(task.workDir, 'result.json'), 'utf8')) as BatchResult;
  assert.equal(result.outcome, 'failed');
  assert.match(result.message, /15 of 60 rows failed \(25\.00%\), more than the error threshold of 10%/);
  assert.equal(existsSync(task.output.url), false);
  assert.equal((await lines(result.errors)).length, 15);
});

test('a task that cannot run exits 2 with the field named: bad task, wrong digest, columns that do not fit', async () => {
  const input = join(fx.dir, 'in6.csv');
  await writeFile(input, 'a,b,c\n1,2,3\n');
  const base = readmissionTask(fx, 'refused', {
    input: { url: input, format: 'csv' },
    output: { url: join(fx.dir, 'refused', 'out.csv'), format: 'csv' },
  });
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ ...base, jobId: 'r1', batchSize: 0 }, /task batchSize: .*>=1|task batchSize/],
    [{ ...base, jobId: 'r2', model: { ...base.model, digest: 'sha256:' + '0'.repeat(64) } }, /task model\.digest/],
    [{ ...base, jobId: 'r3', workDir: join(fx.dir, 'r3') }, /input\.columns: 3 feature columns .* takes 16/],
    [{ ...base, jobId: 'r4', input: { url: join(fx.dir, 'missing.csv'), format: 'csv' } }, /no such file/],
  ];
  for (const [task, message] of cases) {
    const { code, stderr } = await runWorkerProcess(await writeTaskFile(fx, task));
    assert.equal(code, BATCH_EXIT.invalidTask, `${String(task.jobId)}: ${stderr}`);
    assert.match(stderr, message);
  }
});

test('shards: each worker takes every count-th row; together they score every row once', async () => {
  const rows = featureRows(103, 16);
  const input = join(fx.dir, 'in7.jsonl');
  await writeFile(input, rows.map((r) => JSON.stringify(r)).join('\n'));
  const ids: number[] = [];
  for (const index of [0, 1, 2]) {
    const task = readmissionTask(fx, `shard${index}`, {
      input: { url: input, format: 'jsonl' },
      output: { url: join(fx.dir, `shard${index}`, 'out.jsonl'), format: 'jsonl' },
      shard: { index, count: 3 },
      batchSize: 8,
    });
    const result = await runWorker(task, { partRows: 10 });
    assert.equal(result.rowsDone, index === 0 ? 35 : 34);
    const out = (await lines(task.output.url)) as { id: number }[];
    assert.ok(out.every((o) => (o.id - 1) % 3 === index));
    ids.push(...out.map((o) => o.id));
  }
  assert.deepEqual(
    ids.sort((a, b) => a - b),
    Array.from({ length: 103 }, (_, i) => i + 1),
  );
});
