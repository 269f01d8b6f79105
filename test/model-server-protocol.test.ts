// End-to-end tests of the model server's Open Inference Protocol v2 REST endpoints, against real
// `wharf serve-model` processes serving the demo and fixture models.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { WHARF_VERSION } from '../src/core/version.js';
import { multiIoReference, OIP_DATATYPES, type OipDatatype } from '../src/demo/fixtures.js';
import { READMISSION_FEATURES, generateReadmissionData, readmissionProbability } from '../src/demo/readmission.js';
import { type ModelServerProcess, startWharf } from './support/processes.js';
import {
  http,
  type HttpResult,
  jsonOf,
  type ModelFiles,
  startModelServers,
  stopAll,
  terminate,
  writeModelFiles,
} from './support/serving.js';
import { eventually } from './support/eventually.js';

const FEATURES = READMISSION_FEATURES.length;

interface OutputTensor {
  name: string;
  datatype: string;
  shape: number[];
  data: unknown[];
}
interface InferResponse {
  model_name: string;
  model_version?: string;
  id?: string;
  outputs: OutputTensor[];
}

/** Parses a 200 inference response. */
function inferResponse(res: HttpResult): InferResponse {
  assert.equal(res.status, 200, res.text.slice(0, 400));
  assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
  const body = jsonOf(res) as InferResponse;
  assert.ok(Array.isArray(body.outputs), 'outputs is an array');
  return body;
}

function output(body: InferResponse, name: string): OutputTensor {
  const found = body.outputs.filter((o) => o.name === name);
  assert.equal(found.length, 1, `exactly one output '${name}' in ${JSON.stringify(body.outputs.map((o) => o.name))}`);
  return found[0]!;
}

let files: ModelFiles | undefined;
const started: ModelServerProcess[] = [];
let readmission: ModelServerProcess;
let identity: ModelServerProcess;
let multiIo: ModelServerProcess;
let fixed: ModelServerProcess;

before(
  async () => {
    files = await writeModelFiles();
    [readmission, identity, multiIo, fixed] = await startModelServers(
      [
        ['--model', files.readmission, '--name', 'readmission'],
        ['--model', files.identity, '--name', 'identity'],
        ['--model', files.multiIo, '--name', 'multi-io'],
        ['--model', files.fixedBatch, '--name', 'fixed'],
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

describe('health and metadata endpoints', () => {
  test('GET /v2/health/live answers 200 {"live": true}', async () => {
    const res = await http(`${readmission.url}/v2/health/live`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
    assert.deepEqual(jsonOf(res), { live: true });
  });

  test('GET /v2/health/ready answers 200 {"ready": true} once the model is loaded', async () => {
    const res = await http(`${readmission.url}/v2/health/ready`);
    assert.equal(res.status, 200);
    assert.deepEqual(jsonOf(res), { ready: true });
  });

  test('GET /v2 and /v2/ return the server metadata', async () => {
    for (const path of ['/v2', '/v2/']) {
      const res = await http(`${readmission.url}${path}`);
      assert.equal(res.status, 200, path);
      const body = jsonOf(res) as { name: unknown; version: unknown; extensions: unknown };
      assert.deepEqual(Object.keys(body).sort(), ['extensions', 'name', 'version'], path);
      assert.equal(body.name, 'wharf', path);
      assert.equal(body.version, WHARF_VERSION, path);
      assert.match(WHARF_VERSION, /^\d+\.\d+\.\d+/);
      assert.ok(Array.isArray(body.extensions), `${path}: extensions is an array`);
      for (const e of body.extensions as unknown[]) assert.equal(typeof e, 'string');
    }
  });

  test('GET /v2/models/NAME[/versions/V] returns the metadata read from the ONNX graph', async () => {
    const expected = {
      name: 'readmission',
      versions: ['1'],
      platform: 'onnxruntime_onnx',
      inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, FEATURES] }],
      outputs: [
        { name: 'probability', datatype: 'FP32', shape: [-1, 1] },
        { name: 'label', datatype: 'INT64', shape: [-1, 1] },
      ],
    };
    for (const path of ['/v2/models/readmission', '/v2/models/readmission/versions/1']) {
      const res = await http(`${readmission.url}${path}`);
      assert.equal(res.status, 200, `${path}: ${res.text}`);
      assert.deepEqual(jsonOf(res), expected, path);
    }
  });

  test('model metadata of the fixture models: every datatype, mixed types, a fixed first dimension', async () => {
    const id = jsonOf(await http(`${identity.url}/v2/models/identity`)) as { inputs: unknown; outputs: unknown };
    assert.deepEqual(
      id.inputs,
      OIP_DATATYPES.map((t) => ({ name: `in_${t}`, datatype: t, shape: [-1, 2] })),
    );
    assert.deepEqual(
      id.outputs,
      OIP_DATATYPES.map((t) => ({ name: `out_${t}`, datatype: t, shape: [-1, 2] })),
    );

    const mio = jsonOf(await http(`${multiIo.url}/v2/models/multi-io`)) as { inputs: unknown; outputs: unknown };
    assert.deepEqual(mio.inputs, [
      { name: 'features', datatype: 'FP32', shape: [-1, 3] },
      { name: 'offset', datatype: 'FP64', shape: [-1, 1] },
    ]);
    assert.deepEqual(mio.outputs, [
      { name: 'score', datatype: 'FP32', shape: [-1, 1] },
      { name: 'label', datatype: 'INT64', shape: [-1, 1] },
      { name: 'doubled', datatype: 'FP64', shape: [-1, 1] },
    ]);

    const fx = jsonOf(await http(`${fixed.url}/v2/models/fixed`)) as { inputs: unknown; outputs: unknown };
    assert.deepEqual(fx.inputs, [{ name: 'x', datatype: 'FP32', shape: [1, 4] }]);
    assert.deepEqual(fx.outputs, [{ name: 'y', datatype: 'FP32', shape: [1, 4] }]);
  });

  test('GET /v2/models/NAME[/versions/V]/ready answers 200 {"name", "ready": true}', async () => {
    for (const path of ['/v2/models/readmission/ready', '/v2/models/readmission/versions/1/ready']) {
      const res = await http(`${readmission.url}${path}`);
      assert.equal(res.status, 200, path);
      assert.deepEqual(jsonOf(res), { name: 'readmission', ready: true }, path);
    }
  });
});

test('serve-model --version V serves the model as version V', async () => {
  // Waits for the banner or the exit, so a failure shows what the process printed.
  const proc = startWharf([
    'serve-model',
    '--port',
    '0',
    '--model',
    files!.readmission,
    '--name',
    'versioned',
    '--version',
    '2024-06',
  ]);
  try {
    let exited: number | string | undefined;
    void proc.exited.then((code) => (exited = code));
    await eventually(() => exited !== undefined || /http:\/\/\S+/.test(proc.stdout()), {
      timeoutMs: 20_000,
      message: 'the banner or the exit',
    });
    assert.equal(
      exited,
      undefined,
      `serve-model --version 2024-06 exited (${exited}) instead of serving; stdout: ${JSON.stringify(proc.stdout())}, stderr: ${JSON.stringify(proc.stderr())}`,
    );
    const url = /http:\/\/[^\s)]+/.exec(proc.stdout())![0];
    const meta = jsonOf(await http(`${url}/v2/models/versioned/versions/2024-06`)) as { versions: unknown };
    assert.deepEqual(meta.versions, ['2024-06']);
    const res = await http(`${url}/v2/models/versioned/versions/2024-06/infer`, {
      body: {
        inputs: [{ name: 'input', datatype: 'FP32', shape: [1, FEATURES], data: new Array<number>(FEATURES).fill(0) }],
      },
    });
    assert.equal(inferResponse(res).model_version, '2024-06');
    assert.equal(
      (await http(`${url}/v2/models/versioned/versions/1`)).status,
      404,
      'the default version is not served',
    );
  } finally {
    await terminate(proc);
  }
});

describe('readmission demo model', () => {
  const rows = [...generateReadmissionData({ n: 5, seed: 99 }).x, new Array<number>(FEATURES).fill(2.5)];
  /** Probability as the model computes it: float64 logistic regression on float32-rounded inputs. */
  const expected = rows.map((r) => readmissionProbability(r.map(Math.fround)));

  const inferReadmission = (body: unknown, path = '/v2/models/readmission/infer') =>
    http(`${readmission.url}${path}`, { body }).then(inferResponse);

  function checkRows(body: InferResponse, which: number[]): void {
    assert.equal(body.model_name, 'readmission');
    assert.equal(body.model_version, '1');
    const p = output(body, 'probability');
    const label = output(body, 'label');
    assert.equal(p.datatype, 'FP32');
    assert.equal(label.datatype, 'INT64');
    assert.deepEqual(p.shape, [which.length, 1]);
    assert.deepEqual(label.shape, [which.length, 1]);
    assert.equal(p.data.length, which.length);
    which.forEach((row, i) => {
      const got = p.data[i] as number;
      const want = expected[row]!;
      assert.ok(Math.abs(got - want) < 1e-5, `row ${row}: server ${got} vs float64 ${want}`);
      assert.equal(label.data[i], got > 0.5 ? 1 : 0, `row ${row}: label for probability ${got}`);
    });
  }

  test('the probability matches the float64 logistic regression to 1e-5', async () => {
    // Both labels must occur among the rows, or the label check would be weak.
    assert.ok(expected.some((p) => p > 0.5) && expected.some((p) => p < 0.5), `probabilities ${expected.join(', ')}`);
    for (let r = 0; r < rows.length; r++) {
      const body = await inferReadmission({
        inputs: [{ name: 'input', datatype: 'FP32', shape: [1, FEATURES], data: rows[r] }],
      });
      checkRows(body, [r]);
      assert.equal(body.id, undefined, 'no id in the response when the request had none');
    }
  });

  test('the same request works on /versions/V/infer', async () => {
    const body = await inferReadmission(
      { inputs: [{ name: 'input', datatype: 'FP32', shape: [1, FEATURES], data: rows[0] }] },
      '/v2/models/readmission/versions/1/infer',
    );
    checkRows(body, [0]);
  });

  test('a multi-row request returns one row per input row, in order', async () => {
    const body = await inferReadmission({
      inputs: [{ name: 'input', datatype: 'FP32', shape: [rows.length, FEATURES], data: rows.flat() }],
    });
    checkRows(
      body,
      rows.map((_, i) => i),
    );
  });

  test('nested data gives the same result as flat data', async () => {
    const input = (data: unknown) => ({ inputs: [{ name: 'input', datatype: 'FP32', shape: [3, FEATURES], data }] });
    const flat = await inferReadmission(input(rows.slice(0, 3).flat()));
    const nested = await inferReadmission(input(rows.slice(0, 3)));
    checkRows(nested, [0, 1, 2]);
    assert.deepEqual(nested.outputs, flat.outputs);
  });

  test('id is echoed and parameters are accepted at every level', async () => {
    const body = await inferReadmission({
      id: 'req-42 ✓',
      parameters: { priority: 'high', retries: 2, trace: true },
      inputs: [
        { name: 'input', datatype: 'FP32', shape: [1, FEATURES], data: rows[1], parameters: { note: 'x', scale: 1.5 } },
      ],
      outputs: [{ name: 'probability', parameters: { binary_data: false } }, { name: 'label' }],
    });
    assert.equal(body.id, 'req-42 ✓');
    checkRows(body, [1]);
  });

  test('the outputs filter returns only the requested output', async () => {
    for (const name of ['probability', 'label']) {
      const body = await inferReadmission({
        inputs: [{ name: 'input', datatype: 'FP32', shape: [2, FEATURES], data: rows.slice(0, 2).flat() }],
        outputs: [{ name }],
      });
      assert.deepEqual(
        body.outputs.map((o) => o.name),
        [name],
      );
      assert.deepEqual(body.outputs[0]!.shape, [2, 1]);
    }
    const p = output(
      await inferReadmission({
        inputs: [{ name: 'input', datatype: 'FP32', shape: [1, FEATURES], data: rows[2] }],
        outputs: [{ name: 'probability' }],
      }),
      'probability',
    );
    assert.ok(Math.abs((p.data[0] as number) - expected[2]!) < 1e-5);
  });
});

describe('identity model: every datatype round-trips', () => {
  // Four values per datatype ([2,2] tensors), including range extremes; integers stay within 2^53
  // because JSON numbers are doubles.
  const VALUES: Record<OipDatatype, unknown[]> = {
    BOOL: [true, false, false, true],
    INT8: [-128, 127, 0, -1],
    INT16: [-32768, 32767, 0, -1],
    INT32: [-(2 ** 31), 2 ** 31 - 1, 0, -1],
    INT64: [2 ** 31, -(2 ** 31) - 1, -5_000_000_000, Number.MAX_SAFE_INTEGER],
    UINT8: [0, 255, 1, 128],
    UINT16: [0, 65535, 1, 32768],
    UINT32: [0, 2 ** 32 - 1, 1, 2 ** 31],
    UINT64: [0, Number.MAX_SAFE_INTEGER, 2 ** 32, 2 ** 40 + 7],
    FP16: [0.5, -2, 65504, 6.103515625e-5],
    FP32: [1.5, -3.25, 3.4028234663852886e38, Math.fround(1e-45)],
    FP64: [Math.PI, -1e-300, Number.MAX_VALUE, Number.MIN_VALUE],
    BYTES: ['a', 'héllo wörld', '', '\u{1F600} emoji 日本語'],
  };
  /** What comes back where the input is not exactly representable. */
  const ROUNDED: Partial<Record<OipDatatype, { input: unknown[]; output: unknown[] }>> = {
    FP16: { input: [0.1, 1 / 3, 1e-8, -65504], output: [0.0999755859375, 0.333251953125, 0, -65504] },
    FP32: { input: [0.1, 1 / 3, -2.5, 16777217], output: [Math.fround(0.1), Math.fround(1 / 3), -2.5, 16777216] },
  };

  function request(values: (t: OipDatatype) => unknown[]): unknown {
    return { inputs: OIP_DATATYPES.map((t) => ({ name: `in_${t}`, datatype: t, shape: [2, 2], data: values(t) })) };
  }

  test('exact values of all 13 datatypes come back unchanged with their datatype and shape', async () => {
    const body = inferResponse(
      await http(`${identity.url}/v2/models/identity/infer`, { body: request((t) => VALUES[t]) }),
    );
    assert.equal(body.model_name, 'identity');
    assert.deepEqual(
      body.outputs.map((o) => o.name),
      OIP_DATATYPES.map((t) => `out_${t}`),
    );
    for (const t of OIP_DATATYPES) {
      const o = output(body, `out_${t}`);
      assert.equal(o.datatype, t, `${t} datatype`);
      assert.deepEqual(o.shape, [2, 2], `${t} shape`);
      assert.deepEqual(o.data, VALUES[t], `${t} data`);
    }
  });

  test('FP16 and FP32 values are rounded to the nearest representable value', async () => {
    const body = inferResponse(
      await http(`${identity.url}/v2/models/identity/infer`, {
        body: request((t) => ROUNDED[t]?.input ?? VALUES[t]),
      }),
    );
    assert.deepEqual(output(body, 'out_FP16').data, ROUNDED.FP16!.output);
    assert.deepEqual(output(body, 'out_FP32').data, ROUNDED.FP32!.output);
  });

  test('nested BYTES and BOOL data, and BOOL given as 0/1', async () => {
    const body = inferResponse(
      await http(`${identity.url}/v2/models/identity/infer`, {
        body: request((t) => {
          if (t === 'BYTES')
            return [
              ['ünï', 'cödé'],
              ['"quoted"', 'back\\slash\nnewline'],
            ];
          if (t === 'BOOL')
            return [
              [1, 0],
              [true, false],
            ];
          return VALUES[t];
        }),
      }),
    );
    assert.deepEqual(output(body, 'out_BYTES').data, ['ünï', 'cödé', '"quoted"', 'back\\slash\nnewline']);
    assert.deepEqual(output(body, 'out_BOOL').data, [true, false, true, false]);
  });
});

describe('multi-input, multi-output model', () => {
  const features = [
    [1, 2, 3],
    [-1, 0.5, -2],
    [0, 0, 0],
    [4, -8, 0.25],
  ];
  const offsets = [0.25, -1.5, 1e-3, -0.75];

  test('several inputs of different datatypes give outputs with the right datatypes, shapes and values', async () => {
    const body = inferResponse(
      await http(`${multiIo.url}/v2/models/multi-io/infer`, {
        body: {
          // Inputs in the opposite order to the model's signature, to show order does not matter.
          inputs: [
            { name: 'offset', datatype: 'FP64', shape: [4, 1], data: offsets },
            { name: 'features', datatype: 'FP32', shape: [4, 3], data: features },
          ],
        },
      }),
    );
    assert.deepEqual(
      body.outputs.map((o) => [o.name, o.datatype, o.shape]),
      [
        ['score', 'FP32', [4, 1]],
        ['label', 'INT64', [4, 1]],
        ['doubled', 'FP64', [4, 1]],
      ],
    );
    features.forEach((row, i) => {
      const ref = multiIoReference(row, offsets[i]!);
      const score = output(body, 'score').data[i] as number;
      assert.ok(Math.abs(score - ref.score) < 1e-6, `row ${i}: score ${score} vs ${ref.score}`);
      assert.equal(output(body, 'label').data[i], ref.label, `row ${i} label`);
      assert.equal(output(body, 'doubled').data[i], ref.doubled, `row ${i} doubled`);
    });
  });

  test('a subset of outputs in a chosen order', async () => {
    const body = inferResponse(
      await http(`${multiIo.url}/v2/models/multi-io/infer`, {
        body: {
          inputs: [
            { name: 'features', datatype: 'FP32', shape: [1, 3], data: features[0] },
            { name: 'offset', datatype: 'FP64', shape: [1, 1], data: [offsets[0]] },
          ],
          outputs: [{ name: 'doubled' }, { name: 'label' }],
        },
      }),
    );
    assert.deepEqual(body.outputs.map((o) => o.name).sort(), ['doubled', 'label']);
    assert.deepEqual(output(body, 'doubled'), { name: 'doubled', datatype: 'FP64', shape: [1, 1], data: [0.5] });
    assert.deepEqual(output(body, 'label'), { name: 'label', datatype: 'INT64', shape: [1, 1], data: [1] });
  });
});

describe('fixed-first-dimension model', () => {
  test('the banner says batching is off', () => {
    assert.match(fixed.stdout(), /serving fixed 1 at http:\/\/\S+ \(batching off\)/);
    assert.match(readmission.stdout(), /\(batching on\)/);
  });

  test('concurrent requests are served correctly, one at a time', async () => {
    const inputs = Array.from({ length: 8 }, (_, k) => [k, -k - 1, k / 4, 100 + k]);
    const bodies = await Promise.all(
      inputs.map((x) =>
        http(`${fixed.url}/v2/models/fixed/infer`, {
          body: { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4], data: x }] },
        }).then(inferResponse),
      ),
    );
    bodies.forEach((body, k) => {
      assert.deepEqual(body.outputs, [
        { name: 'y', datatype: 'FP32', shape: [1, 4], data: inputs[k]!.map((v) => 2 * v) },
      ]);
    });
  });
});
