// Loads every generated demo and fixture model in onnxruntime-node, runs it, and checks its outputs
// and metadata; checks the readmission model's training against scikit-learn when Python is there.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { OIP_DATATYPES, OIP_TYPES, multiIoReference, type OipDatatype } from '../src/demo/fixtures.js';
import { MLP_INPUT_SIZE } from '../src/demo/mlp.js';
import {
  READMISSION_FEATURES,
  generateReadmissionData,
  readmissionModel,
  readmissionProbability,
  readmissionWeights,
  trainLogisticRegression,
} from '../src/demo/readmission.js';
import { writeDemoModels, writeFixtureModels } from '../src/demo/write-demo-models.js';
import { letTimePass } from './support/eventually.js';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const dir = await mkdtemp(join(tmpdir(), 'wharf-demo-models-'));
after(() => rm(dir, { recursive: true, force: true }));
const demo = await writeDemoModels(dir);
const fixtures = await writeFixtureModels(dir);

/** The metadata of a session's inputs or outputs as comparable plain objects. */
function describe(values: readonly ort.InferenceSession.ValueMetadata[]): object[] {
  return values.map((v) => (v.isTensor ? { name: v.name, type: v.type, shape: [...v.shape] } : { name: v.name }));
}

void test('readmission model matches the float64 logistic regression', async () => {
  const session = await ort.InferenceSession.create(demo.readmission);
  const d = READMISSION_FEATURES.length;
  assert.deepEqual(describe(session.inputMetadata), [{ name: 'input', type: 'float32', shape: ['batch', d] }]);
  assert.deepEqual(describe(session.outputMetadata), [
    { name: 'probability', type: 'float32', shape: ['batch', 1] },
    { name: 'label', type: 'int64', shape: ['batch', 1] },
  ]);

  // Training rows plus a few extreme ones, so both labels and saturated probabilities occur.
  const extreme = (v: number) => new Array<number>(d).fill(v);
  const rows = [...generateReadmissionData().x.slice(0, 300), extreme(3), extreme(-3)];
  const input = new ort.Tensor('float32', Float32Array.from(rows.flat()), [rows.length, d]);
  const out = await session.run({ input });
  const probability = out.probability as ort.Tensor;
  const label = out.label as ort.Tensor;
  assert.deepEqual(probability.dims, [rows.length, 1]);
  assert.deepEqual(label.dims, [rows.length, 1]);
  const model = readmissionWeights();
  let positives = 0;
  rows.forEach((row, i) => {
    const p = Number(probability.data[i]);
    // The reference sees the same float32-rounded inputs the model saw.
    const expected = readmissionProbability(row.map(Math.fround), model);
    assert.ok(Math.abs(p - expected) < 1e-5, `row ${i}: onnx ${p} vs js ${expected}`);
    assert.equal(label.data[i], p > 0.5 ? 1n : 0n, `row ${i}: label vs probability ${p}`);
    if (Math.abs(expected - 0.5) > 1e-5) assert.equal(label.data[i], expected > 0.5 ? 1n : 0n);
    if (p > 0.5) positives++;
  });
  assert.ok(positives > 0 && positives < rows.length, 'both labels occur');
});

void test('readmission training reaches the optimum and the model bytes are deterministic', () => {
  const data = generateReadmissionData();
  const fit = trainLogisticRegression(data);
  // Optimality: the gradient of ||w||²/2 + Σ log-loss vanishes (intercept unpenalised).
  const grad = [...fit.coef, 0];
  data.x.forEach((row, i) => {
    const residual = readmissionProbability(row, fit) - (data.y[i] ?? 0);
    [...row, 1].forEach((v, j) => (grad[j] = (grad[j] ?? 0) + residual * v));
  });
  assert.ok(Math.max(...grad.map(Math.abs)) < 1e-8, `gradient ${grad.join(', ')}`);
  assert.ok(fit.iterations < 20);
  assert.deepEqual(Buffer.from(readmissionModel()), Buffer.from(readmissionModel()));
});

void test('writeDemoModels leaves identical files untouched', async () => {
  const before = await stat(demo.mlp);
  await letTimePass(20, 'a file written again now would get a later mtime');
  const again = await writeDemoModels(dir);
  assert.deepEqual(again, demo);
  assert.equal((await stat(demo.mlp)).mtimeMs, before.mtimeMs);
});

void test('MLP returns one score per row', async () => {
  const session = await ort.InferenceSession.create(demo.mlp);
  assert.deepEqual(describe(session.inputMetadata), [
    { name: 'input', type: 'float32', shape: ['batch', MLP_INPUT_SIZE] },
  ]);
  assert.deepEqual(describe(session.outputMetadata), [{ name: 'score', type: 'float32', shape: ['batch', 1] }]);
  for (const n of [1, 7, 64]) {
    const data = Float32Array.from({ length: n * MLP_INPUT_SIZE }, (_, i) => Math.sin(i));
    const input = new ort.Tensor('float32', data, [n, MLP_INPUT_SIZE]);
    const out = (await session.run({ input })).score as ort.Tensor;
    assert.deepEqual(out.dims, [n, 1]);
    for (const v of out.data as Float32Array) assert.ok(v > 0 && v < 1, `score ${v}`);
  }
});

/** Four sample values per datatype, including the extremes of each integer range. */
const SAMPLES: Record<OipDatatype, ort.Tensor.DataType> = {
  BOOL: Uint8Array.of(1, 0, 0, 1),
  INT8: Int8Array.of(-128, 127, 0, -1),
  INT16: Int16Array.of(-32768, 32767, 0, -1),
  INT32: Int32Array.of(-(2 ** 31), 2 ** 31 - 1, 0, -1),
  INT64: BigInt64Array.of(-(2n ** 63n), 2n ** 63n - 1n, 0n, -1n),
  UINT8: Uint8Array.of(0, 255, 1, 128),
  UINT16: Uint16Array.of(0, 65535, 1, 32768),
  UINT32: Uint32Array.of(0, 2 ** 32 - 1, 1, 2 ** 31),
  UINT64: BigUint64Array.of(0n, 2n ** 64n - 1n, 1n, 2n ** 63n),
  // Half-precision bit patterns: 1.0, -2.0, 65504 (largest finite), the smallest subnormal.
  FP16: Uint16Array.of(0x3c00, 0xc000, 0x7bff, 0x0001),
  FP32: Float32Array.of(1.5, -0, 3.4028234663852886e38, 1e-45),
  FP64: Float64Array.of(Math.PI, -0, Number.MAX_VALUE, Number.MIN_VALUE),
  BYTES: ['a', 'héllo wörld', '', '\u{1F600} emoji'],
};

void test('identity model round-trips every Open Inference Protocol datatype', async () => {
  const session = await ort.InferenceSession.create(fixtures.identity);
  const types = (prefix: string) =>
    OIP_DATATYPES.map((t) => ({ name: `${prefix}_${t}`, type: OIP_TYPES[t].ort, shape: ['batch', 2] }));
  assert.deepEqual(describe(session.inputMetadata), types('in'));
  assert.deepEqual(describe(session.outputMetadata), types('out'));
  const feeds: Record<string, ort.Tensor> = {};
  for (const t of OIP_DATATYPES) {
    feeds[`in_${t}`] = new ort.Tensor(OIP_TYPES[t].ort as ort.Tensor.Type, SAMPLES[t] as never, [2, 2]);
  }
  const out = await session.run(feeds);
  for (const t of OIP_DATATYPES) {
    const tensor = out[`out_${t}`] as ort.Tensor;
    assert.equal(tensor.type, OIP_TYPES[t].ort, t);
    assert.deepEqual(tensor.dims, [2, 2], t);
    let data = tensor.data;
    if (t === 'FP16') {
      // Node 20 has no Float16Array, so ORT hands out the raw bits in a Uint16Array; where the
      // global exists (newer runtimes) ORT uses it instead. Compare bit patterns either way.
      const view = data as unknown as ArrayBufferView;
      data = new Uint16Array(view.buffer, view.byteOffset, view.byteLength / 2);
    }
    assert.equal(data.constructor, SAMPLES[t].constructor, `${t}: data array type`);
    assert.deepEqual(Array.from(data as ArrayLike<unknown>), Array.from(SAMPLES[t] as ArrayLike<unknown>), t);
  }
});

void test('multi-io model computes its documented outputs', async () => {
  const session = await ort.InferenceSession.create(fixtures.multiIo);
  assert.deepEqual(describe(session.inputMetadata), [
    { name: 'features', type: 'float32', shape: ['batch', 3] },
    { name: 'offset', type: 'float64', shape: ['batch', 1] },
  ]);
  assert.deepEqual(describe(session.outputMetadata), [
    { name: 'score', type: 'float32', shape: ['batch', 1] },
    { name: 'label', type: 'int64', shape: ['batch', 1] },
    { name: 'doubled', type: 'float64', shape: ['batch', 1] },
  ]);
  const features = [
    [1, 2, 3],
    [-1, 0.5, -2],
    [0, 0, 0],
  ];
  const offsets = [0.25, -1.5, 1e-3];
  const out = await session.run({
    features: new ort.Tensor('float32', Float32Array.from(features.flat()), [3, 3]),
    offset: new ort.Tensor('float64', Float64Array.from(offsets), [3, 1]),
  });
  features.forEach((row, i) => {
    const expected = multiIoReference(row, offsets[i] ?? 0);
    assert.ok(Math.abs(Number((out.score as ort.Tensor).data[i]) - expected.score) < 1e-6);
    assert.equal((out.label as ort.Tensor).data[i], BigInt(expected.label));
    assert.equal((out.doubled as ort.Tensor).data[i], expected.doubled);
  });
});

void test('fixed-batch and scalar models declare fixed shapes and double their input', async () => {
  const fixed = await ort.InferenceSession.create(fixtures.fixedBatch);
  assert.deepEqual(describe(fixed.inputMetadata), [{ name: 'x', type: 'float32', shape: [1, 4] }]);
  assert.deepEqual(describe(fixed.outputMetadata), [{ name: 'y', type: 'float32', shape: [1, 4] }]);
  const y = (await fixed.run({ x: new ort.Tensor('float32', Float32Array.of(1, -2, 0.5, 0), [1, 4]) })).y as ort.Tensor;
  assert.deepEqual(Array.from(y.data as Float32Array), [2, -4, 1, 0]);
  // A batch of two violates the fixed first dimension; the server has to know not to batch.
  await assert.rejects(fixed.run({ x: new ort.Tensor('float32', new Float32Array(8), [2, 4]) }));

  const scalar = await ort.InferenceSession.create(fixtures.scalar);
  assert.deepEqual(describe(scalar.inputMetadata), [{ name: 'x', type: 'float32', shape: [] }]);
  const s = (await scalar.run({ x: new ort.Tensor('float32', Float32Array.of(21), []) })).y as ort.Tensor;
  assert.deepEqual(s.dims, []);
  assert.equal(s.data[0], 42);
});

// Fits the same data with scikit-learn twice: with the defaults, and with a solver run to full
// convergence. Prints JSON: version, then coef / intercept / predict_proba for each fit.
const SKLEARN_SCRIPT = `
import json, sys
import sklearn
from sklearn.linear_model import LogisticRegression
data = json.load(open(sys.argv[1]))
def fit(model):
    model.fit(data["x"], data["y"])
    return {"coef": model.coef_[0].tolist(), "intercept": float(model.intercept_[0]),
            "proba": model.predict_proba(data["x"])[:, 1].tolist()}
try:
    converged = fit(LogisticRegression(max_iter=1000, solver="newton-cholesky", tol=1e-12))
except ValueError:  # scikit-learn < 1.2 has no newton-cholesky
    converged = fit(LogisticRegression(max_iter=1000, solver="newton-cg", tol=1e-10))
print(json.dumps({"version": sklearn.__version__,
                  "default": fit(LogisticRegression(max_iter=1000)), "converged": converged}))
`;

interface SklearnFit {
  coef: number[];
  intercept: number;
  proba: number[];
}

void test('logistic regression matches scikit-learn', { timeout: 15 * 60_000 }, async (t) => {
  const script = join(repoRoot, 'scripts/ensure-debian-packages.sh');
  const ensure = spawnSync(script, ['python3-sklearn'], { encoding: 'utf8' });
  if (ensure.status !== 0) {
    t.skip(`python3-sklearn could not be installed: ${(ensure.stderr || String(ensure.error)).trim().slice(-300)}`);
    return;
  }
  const probe = spawnSync('/usr/bin/python3', ['-c', 'import sklearn'], { encoding: 'utf8' });
  if (probe.status !== 0) {
    t.skip(`scikit-learn does not import: ${(probe.stderr || String(probe.error)).trim().slice(-300)}`);
    return;
  }
  const data = generateReadmissionData();
  const file = join(dir, 'readmission-train.json');
  await writeFile(file, JSON.stringify({ x: data.x, y: data.y }));
  const run = spawnSync('/usr/bin/python3', ['-W', 'ignore', '-c', SKLEARN_SCRIPT, file], {
    encoding: 'utf8',
    maxBuffer: 64 << 20,
  });
  assert.equal(run.status, 0, run.stderr);
  const result = JSON.parse(run.stdout) as { version: string; default: SklearnFit; converged: SklearnFit };
  const ours = readmissionWeights();
  const maxDiff = (fit: SklearnFit): number =>
    Math.max(...data.x.map((row, i) => Math.abs((fit.proba[i] ?? NaN) - readmissionProbability(row, ours))));
  const converged = maxDiff(result.converged);
  const byDefault = maxDiff(result.default);
  t.diagnostic(
    `scikit-learn ${result.version}: max |Δp| over ${data.x.length} rows: ` +
      `converged solver ${converged.toExponential(2)}, default lbfgs ${byDefault.toExponential(2)}`,
  );
  assert.ok(converged < 1e-5, `converged solver: max |Δp| ${converged}`);
  result.converged.coef.forEach((c, j) => assert.ok(Math.abs(c - (ours.coef[j] ?? NaN)) < 1e-6, `coef ${j}`));
  assert.ok(Math.abs(result.converged.intercept - ours.intercept) < 1e-6, 'intercept');
  // The default lbfgs stops early (scipy's default ftol in scikit-learn 1.2), about 2e-5 away
  // from the optimum on this data, so it gets a looser bound.
  assert.ok(byDefault < 1e-4, `default lbfgs: max |Δp| ${byDefault}`);
});
