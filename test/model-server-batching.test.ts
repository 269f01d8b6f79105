// Adaptive batching in the model server: concurrent requests share model runs and each gets exactly
// its own rows back; incompatible requests are never mixed; --no-batching, --max-batch-size and
// --max-batch-delay-us do what they say. Batch sizes are read from the server's own metrics.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { OIP_DATATYPES, type OipDatatype } from '../src/demo/fixtures.js';
import { MLP_INPUT_SIZE } from '../src/demo/mlp.js';
import { encodeModel } from '../src/demo/onnx-writer.js';
import { READMISSION_FEATURES } from '../src/demo/readmission.js';
import type { ModelServerProcess } from './support/processes.js';
import {
  http,
  jsonOf,
  type ModelFiles,
  sampleValue,
  scrape,
  startModelServers,
  stopAll,
  writeModelFiles,
} from './support/serving.js';
import { letTimePass } from './support/eventually.js';

const REQUESTS = 64;

interface OutputTensor {
  name: string;
  datatype: string;
  shape: number[];
  data: unknown[];
}

let files: ModelFiles | undefined;
const started: ModelServerProcess[] = [];
let batched: ModelServerProcess;
let direct: ModelServerProcess;
let maxFour: ModelServerProcess;
let identity: ModelServerProcess;
let varWidth: ModelServerProcess;
let delayed: ModelServerProcess;

before(
  async () => {
    files = await writeModelFiles();
    // Identity over FP32 [batch, width]: requests of different widths must never share a run.
    const varWidthModel = join(files.dir, 'var-width.onnx');
    await writeFile(
      varWidthModel,
      encodeModel({
        graphName: 'var_width',
        producerName: 'wharf-tests',
        inputs: [{ name: 'x', type: 'FLOAT', dims: ['batch', 'width'] }],
        outputs: [{ name: 'y', type: 'FLOAT', dims: ['batch', 'width'] }],
        nodes: [{ op: 'Identity', inputs: ['x'], outputs: ['y'] }],
      }),
    );
    // A little injected latency where the test needs requests to queue behind a running batch.
    [batched, direct, maxFour, identity, varWidth, delayed] = await startModelServers(
      [
        ['--model', files.mlp, '--name', 'mlp'],
        ['--model', files.mlp, '--name', 'mlp', '--no-batching'],
        ['--model', files.mlp, '--name', 'mlp', '--max-batch-size', '4', '--inject-latency-ms', '20'],
        ['--model', files.identity, '--name', 'identity', '--inject-latency-ms', '20'],
        ['--model', varWidthModel, '--name', 'var-width', '--inject-latency-ms', '20'],
        ['--model', files.readmission, '--name', 'readmission', '--max-batch-delay-us', '200000'],
      ],
      started,
    );
  },
  { timeout: 30_000 },
);

after(async () => {
  await stopAll(started);
  await files?.cleanup();
});

/** The batch-size histogram of a server: run count, total rows, and runs of at most `le` rows. */
interface BatchFigures {
  count: number;
  sum: number;
  le: Record<string, number>;
}

async function batchFigures(server: ModelServerProcess): Promise<BatchFigures> {
  const samples = await scrape(server.url);
  const le: Record<string, number> = {};
  for (const bound of ['1', '2', '4', '8', '64', '+Inf']) {
    le[bound] = sampleValue(samples, 'wharf_inference_batch_size_bucket', { le: bound }) ?? 0;
  }
  return {
    count: sampleValue(samples, 'wharf_inference_batch_size_count') ?? 0,
    sum: sampleValue(samples, 'wharf_inference_batch_size_sum') ?? 0,
    le,
  };
}

/** Change in the histogram between two scrapes. */
function delta(before: BatchFigures, after: BatchFigures): BatchFigures {
  const le: Record<string, number> = {};
  for (const k of Object.keys(after.le)) le[k] = after.le[k]! - (before.le[k] ?? 0);
  return { count: after.count - before.count, sum: after.sum - before.sum, le };
}

async function infer(server: ModelServerProcess, model: string, body: unknown): Promise<OutputTensor[]> {
  const res = await http(`${server.url}/v2/models/${model}/infer`, { body, timeoutMs: 20_000 });
  assert.equal(res.status, 200, res.text.slice(0, 300));
  return (jsonOf(res) as { outputs: OutputTensor[] }).outputs;
}

describe('MLP demo model, 64 concurrent single-row requests', () => {
  const rows = Array.from({ length: REQUESTS }, (_, k) =>
    Array.from({ length: MLP_INPUT_SIZE }, (__, i) => Math.sin(k * 1.7 + i * 0.31)),
  );
  const mlpRequest = (k: number) => ({
    inputs: [{ name: 'input', datatype: 'FP32', shape: [1, MLP_INPUT_SIZE], data: rows[k] }],
  });
  /** Each row's score when sent alone, one request at a time. */
  const alone: number[] = [];

  async function scoreOf(server: ModelServerProcess, k: number): Promise<number> {
    const outputs = await infer(server, 'mlp', mlpRequest(k));
    assert.deepEqual(
      outputs.map((o) => [o.name, o.datatype, o.shape]),
      [['score', 'FP32', [1, 1]]],
    );
    return outputs[0]!.data[0] as number;
  }

  /** Fires every row at once and checks each answer against the row's score alone. */
  async function concurrentMatchesAlone(server: ModelServerProcess): Promise<void> {
    const scores = await Promise.all(rows.map((_, k) => scoreOf(server, k)));
    scores.forEach((s, k) =>
      assert.ok(Math.abs(s - alone[k]!) < 1e-5, `row ${k}: ${s} in a batch vs ${alone[k]} alone`),
    );
  }

  before(async () => {
    for (let k = 0; k < REQUESTS; k++) alone.push(await scoreOf(batched, k));
    // The rows must give clearly different scores, or a mix-up between requests would go unseen.
    assert.ok(new Set(alone.map((s) => s.toFixed(4))).size > REQUESTS / 2, `scores ${alone.join(', ')}`);
  });

  test('with batching, runs hold several requests and every answer equals the row run alone', async () => {
    const start = await batchFigures(batched);
    await concurrentMatchesAlone(batched);
    const d = delta(start, await batchFigures(batched));
    assert.equal(d.sum, REQUESTS, 'every row ran exactly once');
    assert.ok(d.count < REQUESTS, `${d.count} runs for ${REQUESTS} requests: nothing was batched`);
    assert.ok(d.le['1']! < d.count, `all ${d.count} runs had a single row`);
  });

  test('with --no-batching, every request runs alone', async () => {
    const start = await batchFigures(direct);
    await concurrentMatchesAlone(direct);
    const d = delta(start, await batchFigures(direct));
    assert.equal(d.count, REQUESTS, 'one run per request');
    assert.equal(d.le['1'], REQUESTS, 'every run had one row');
    assert.equal(d.sum, REQUESTS);
    assert.match(direct.stdout(), /\(batching off\)/);
    assert.match(batched.stdout(), /\(batching on\)/);
  });

  test('with --max-batch-size 4, no run exceeds 4 rows', async () => {
    const start = await batchFigures(maxFour);
    await concurrentMatchesAlone(maxFour);
    const d = delta(start, await batchFigures(maxFour));
    assert.equal(d.sum, REQUESTS, 'every row ran exactly once');
    assert.equal(d.le['4'], d.count, `some of ${d.count} runs had more than 4 rows`);
    assert.ok(d.count >= REQUESTS / 4, `${d.count} runs cannot carry ${REQUESTS} rows at 4 each`);
    // With requests queued behind the injected latency, runs fill up to the limit: the limit is what stops them.
    assert.ok(d.le['2']! < d.count, `no run had more than 2 rows (${d.count} runs), so the limit was never reached`);
  });
});

describe('requests that differ', () => {
  test('concurrent identity requests with 0 to 3 rows of every datatype each get their own data back', async () => {
    const n = 24;
    /** Request k's values for datatype t: distinct per request and row, exactly representable. */
    const values = (t: OipDatatype, k: number, count: number): unknown[] =>
      Array.from({ length: count }, (_, i) => {
        const v = k * 8 + i;
        switch (t) {
          case 'BOOL':
            return (k + i) % 3 === 0;
          case 'INT8':
            return (v % 200) - 100;
          case 'UINT8':
            return v % 256;
          case 'INT64':
            return -(k * 2 ** 33) - i;
          case 'UINT64':
            return k * 2 ** 40 + i;
          case 'FP16':
            return v * 0.25;
          case 'FP32':
            return k * 0.5 + i * 0.125;
          case 'FP64':
            return k + i / 1024;
          case 'BYTES':
            return `req${k}-el${i}-ü`;
          default:
            return v * 7;
        }
      });
    const rowsOf = (k: number) => k % 4;
    const start = await batchFigures(identity);
    const responses = await Promise.all(
      Array.from({ length: n }, (_, k) =>
        infer(identity, 'identity', {
          inputs: OIP_DATATYPES.map((t) => ({
            name: `in_${t}`,
            datatype: t,
            shape: [rowsOf(k), 2],
            data: values(t, k, rowsOf(k) * 2),
          })),
        }),
      ),
    );
    responses.forEach((outputs, k) => {
      for (const t of OIP_DATATYPES) {
        const o = outputs.find((x) => x.name === `out_${t}`);
        assert.ok(o, `request ${k}: out_${t}`);
        assert.equal(o.datatype, t);
        assert.deepEqual(o.shape, [rowsOf(k), 2], `request ${k} ${t} shape`);
        assert.deepEqual(o.data, values(t, k, rowsOf(k) * 2), `request ${k} ${t} data`);
      }
    });
    const d = delta(start, await batchFigures(identity));
    assert.ok(d.count < n, `${d.count} runs for ${n} requests: the batcher was not exercised`);
  });

  test('requests with different non-batch dimensions never share a run', async () => {
    const widths = [1, 2, 3, 5];
    const requests = Array.from({ length: 20 }, (_, k) => ({
      rows: 1 + (k % 3),
      width: widths[k % widths.length]!,
      k,
    }));
    const data = ({ rows, width, k }: (typeof requests)[number]) =>
      Array.from({ length: rows * width }, (_, i) => k * 100 + i + 0.5);
    const start = await batchFigures(varWidth);
    const responses = await Promise.all(
      requests.map((r) =>
        infer(varWidth, 'var-width', {
          inputs: [{ name: 'x', datatype: 'FP32', shape: [r.rows, r.width], data: data(r) }],
        }),
      ),
    );
    responses.forEach((outputs, i) => {
      const r = requests[i]!;
      assert.deepEqual(
        outputs,
        [{ name: 'y', datatype: 'FP32', shape: [r.rows, r.width], data: data(r) }],
        `request ${i}`,
      );
    });
    const d = delta(start, await batchFigures(varWidth));
    assert.equal(
      d.sum,
      requests.reduce((s, r) => s + r.rows, 0),
      'every row ran exactly once',
    );
    assert.ok(
      d.count < requests.length,
      `${d.count} runs for ${requests.length} requests: the batcher was not exercised`,
    );
    assert.ok(d.count >= widths.length, `${d.count} runs for ${widths.length} different widths: some were mixed`);
  });
});

describe('--max-batch-delay-us', () => {
  test('a lone request on an idle server is not held for the batch delay (200 ms)', async () => {
    const body = {
      inputs: [
        {
          name: 'input',
          datatype: 'FP32',
          shape: [1, READMISSION_FEATURES.length],
          data: new Array<number>(READMISSION_FEATURES.length).fill(0.5),
        },
      ],
    };
    await infer(delayed, 'readmission', body); // warm up the connection, the JIT and the session
    // The server counts as idle once no run has ended within the delay window; that is internal
    // state with nothing to poll, so wait the window out (plus margin).
    await letTimePass(300, 'the 200 ms batch-delay window passes with no run ending: the server counts as idle');
    const t = performance.now();
    await infer(delayed, 'readmission', body);
    const ms = performance.now() - t;
    assert.ok(ms < 100, `a lone request took ${ms.toFixed(1)} ms on an idle server with a 200 ms batch delay`);
  });
});
