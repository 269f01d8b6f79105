/**
 * The model as the batch engine runs it: an ONNX Runtime session in this process, its inputs as
 * (name, element type, row width) and its outputs, and one call that runs a batch of rows. Written
 * here rather than taken from src/serving/ because the layering lets src/batch/ import only core and
 * protocol; this needs a small part of what the model server has (numeric tensors, no protocol codec).
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { InvalidTaskError } from './task.js';

/** Element types a batch input may have: what JSON numbers and CSV cells can fill. */
export type InputType = 'float32' | 'float64' | 'int32' | 'int64';

/** One model input: a row gives `width` values of it. */
export interface InputPlan {
  readonly name: string;
  readonly type: InputType;
  readonly width: number;
}

/** One model output: a row gets `width` values (undefined when the model leaves it dynamic). */
export interface OutputPlan {
  readonly name: string;
  readonly type: string;
  readonly width: number | undefined;
}

/** A batch's outputs: per output, the flat data and the values per row. */
export type BatchValues = readonly { readonly data: ArrayLike<number | bigint>; readonly width: number }[];

/** A loaded model. */
export interface BatchModel {
  readonly inputs: readonly InputPlan[];
  readonly outputs: readonly OutputPlan[];
  /** Runs `n` rows; `features[i]` holds input i's values of every row, row after row. */
  run(n: number, features: readonly ArrayLike<number>[]): Promise<BatchValues>;
  release(): Promise<void>;
}

const INPUT_TYPES: readonly string[] = ['float32', 'float64', 'int32', 'int64'];

/** Checks the artifact's sha256 against `digest` (`sha256:HEX` or `HEX`). */
export async function verifyDigest(path: string, digest: string): Promise<void> {
  const expected = digest.replace(/^sha256:/, '').toLowerCase();
  const hash = createHash('sha256');
  try {
    for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  } catch (err) {
    throw new InvalidTaskError(
      `task model.artifactPath: ${path} cannot be read (${(err as NodeJS.ErrnoException).code})`,
    );
  }
  const actual = hash.digest('hex');
  if (actual !== expected)
    throw new InvalidTaskError(`task model.digest: the artifact's sha256 is ${actual}, not ${expected}`);
}

/**
 * Loads the model. Each run uses one intra-op thread: a worker keeps `concurrency` runs in flight,
 * which ONNX Runtime's Node binding runs on libuv's thread pool, so parallelism comes from there.
 */
export async function loadBatchModel(path: string, options: { intraOpThreads?: number } = {}): Promise<BatchModel> {
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(path, {
      intraOpNumThreads: options.intraOpThreads ?? 1,
      interOpNumThreads: 1,
      graphOptimizationLevel: 'all',
    });
  } catch (err) {
    throw new InvalidTaskError(`task model.artifactPath: ONNX Runtime cannot load ${path}: ${firstLine(err)}`);
  }
  const inputs = session.inputMetadata.map((m): InputPlan => {
    if (!m.isTensor || !INPUT_TYPES.includes(m.type))
      throw new InvalidTaskError(
        `model input '${m.name}' has type ${m.isTensor ? m.type : 'non-tensor'}; a batch job fills only ${INPUT_TYPES.join(', ')}`,
      );
    const width = m.shape.slice(1).reduce<number>((w, d) => w * (typeof d === 'number' && d > 0 ? d : NaN), 1);
    if (m.shape.length < 1 || !Number.isFinite(width))
      throw new InvalidTaskError(
        `model input '${m.name}' has shape [${m.shape.join(',')}]; a batch job needs [batch, features] with a fixed width`,
      );
    return { name: m.name, type: m.type as InputType, width };
  });
  const outputs = session.outputMetadata.map((m): OutputPlan => {
    const dims = m.isTensor ? m.shape.slice(1) : [];
    const width = dims.every((d) => typeof d === 'number' && d > 0)
      ? dims.reduce<number>((w, d) => w * Number(d), 1)
      : undefined;
    return { name: m.name, type: m.isTensor ? m.type : 'unknown', width };
  });
  const outputNames = outputs.map((o) => o.name);
  return {
    inputs,
    outputs,
    async run(n, features) {
      const feeds: Record<string, ort.Tensor> = {};
      inputs.forEach((spec, i) => {
        feeds[spec.name] = new ort.Tensor(spec.type, toTyped(spec.type, features[i]!) as never, [n, spec.width]);
      });
      let result: ort.InferenceSession.ReturnType;
      try {
        result = await session.run(feeds, outputNames);
      } catch (err) {
        throw new Error(`model run failed: ${firstLine(err)}`, { cause: err });
      }
      return outputNames.map((name) => {
        const t = result[name];
        if (!t) throw new Error(`model did not produce output '${name}'`);
        const width = n === 0 ? 0 : t.data.length / n;
        return { data: t.data as ArrayLike<number | bigint>, width };
      });
    },
    release: () => session.release(),
  };
}

function toTyped(type: InputType, values: ArrayLike<number>): ArrayLike<number | bigint> {
  switch (type) {
    case 'float32':
      return values instanceof Float32Array ? values : Float32Array.from(values);
    case 'float64':
      return values instanceof Float64Array ? values : Float64Array.from(values);
    case 'int32':
      return Int32Array.from(values);
    case 'int64':
      return BigInt64Array.from(Array.from(values, (v) => BigInt(v)));
  }
}

/** Allocates the buffer a batch's values of one input are written into. */
export function allocateInput(type: InputType, length: number): Float32Array | Float64Array {
  // Integers are checked to be exact when decoded, so float64 carries them without loss until the run.
  return type === 'float32' ? new Float32Array(length) : new Float64Array(length);
}

function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0]!.trim();
}
