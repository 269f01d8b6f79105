/**
 * Writes the demo models and the test fixtures as .onnx files, for `wharf demo`, the benchmarks
 * and the model server's tests.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fixedBatchModel, identityModel, multiIoModel, scalarModel } from './fixtures.js';
import { mlpModel } from './mlp.js';
import { readmissionModel } from './readmission.js';

/**
 * Writes `readmission.onnx` and `mlp.onnx` into `dir` (created when missing) and returns their
 * paths. A file that already holds identical bytes is left untouched.
 */
export async function writeDemoModels(dir: string): Promise<{ readmission: string; mlp: string }> {
  await mkdir(dir, { recursive: true });
  return {
    readmission: await writeIfChanged(join(dir, 'readmission.onnx'), readmissionModel()),
    mlp: await writeIfChanged(join(dir, 'mlp.onnx'), mlpModel()),
  };
}

/** Paths of the fixture models written by {@link writeFixtureModels}. */
export interface FixturePaths {
  /** identity-all-types.onnx: every OIP datatype through Identity. */
  identity: string;
  /** multi-io.onnx: FP32 + FP64 inputs; FP32, INT64 and FP64 outputs. */
  multiIo: string;
  /** fixed-batch.onnx: FP32 [1,4] → FP32 [1,4]. */
  fixedBatch: string;
  /** scalar.onnx: FP32 scalar → FP32 scalar. */
  scalar: string;
}

/** Writes the model server's fixture models into `dir` (created when missing). */
export async function writeFixtureModels(dir: string): Promise<FixturePaths> {
  await mkdir(dir, { recursive: true });
  return {
    identity: await writeIfChanged(join(dir, 'identity-all-types.onnx'), identityModel()),
    multiIo: await writeIfChanged(join(dir, 'multi-io.onnx'), multiIoModel()),
    fixedBatch: await writeIfChanged(join(dir, 'fixed-batch.onnx'), fixedBatchModel()),
    scalar: await writeIfChanged(join(dir, 'scalar.onnx'), scalarModel()),
  };
}

async function writeIfChanged(path: string, bytes: Uint8Array): Promise<string> {
  const existing = await readFile(path).catch(() => undefined);
  if (existing?.equals(bytes)) return path;
  // Write then rename: another process (a parallel test, a running server) may read the same
  // path, and must see either the old file or the new one, never a half-written one.
  const temp = `${path}.${process.pid}.${Date.now()}.tmp`;
  await writeFile(temp, bytes);
  await rename(temp, path);
  return path;
}
