/**
 * Loads an ONNX model into ONNX Runtime and describes it in protocol terms: tensor names,
 * datatypes and shapes (-1 for dynamic dimensions), and whether requests can be batched.
 */
import { access, constants } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import * as ort from 'onnxruntime-node';
import { InvalidArgumentError } from '../core/errors.js';
import { type Datatype, type DatatypeInfo, fromOrtType } from './datatypes.js';

/** One input or output of a model. */
export interface TensorSpec {
  readonly name: string;
  readonly datatype: Datatype;
  readonly info: DatatypeInfo;
  /** Dimensions; -1 where the model leaves a dimension dynamic (symbolic or unknown). */
  readonly shape: readonly number[];
  /**
   * The symbolic name of each dynamic dimension (e.g. `batch`), undefined elsewhere. Inputs that
   * share a name must agree on its size in a request.
   */
  readonly symbols: readonly (string | undefined)[];
}

/** A model ready to run. */
export interface LoadedModel {
  readonly name: string;
  readonly version: string;
  readonly platform: 'onnxruntime_onnx';
  readonly inputs: readonly TensorSpec[];
  readonly outputs: readonly TensorSpec[];
  /**
   * True when every input and output has a dynamic first dimension, so concurrent requests can be
   * concatenated along it. A model with a fixed first dimension must see each request alone.
   */
  readonly batchable: boolean;
  readonly session: ort.InferenceSession;
  readonly loadSeconds: number;
}

/** Options for {@link loadModel}. */
export interface LoadModelOptions {
  name: string;
  version: string;
  /**
   * ONNX Runtime intra-op threads. One by default: on a small machine the HTTP loop needs the other
   * cores, and ORT's spinning worker threads would steal them under load.
   */
  intraOpThreads?: number;
  /**
   * Cap on ONNX Runtime's threads (intra-op and inter-op), e.g. from a replica's cpu limit: the
   * intra-op count is lowered to it when `intraOpThreads` asks for more.
   */
  maxThreads?: number;
}

/** Thrown when the file is missing, unreadable, not a valid ONNX model, or uses unsupported types. */
export class ModelLoadError extends Error {
  override readonly name = 'ModelLoadError';
  readonly code = 'MODEL_LOAD_FAILED';
}

/**
 * Loads `file` and reads its signature from the ONNX graph.
 *
 * @example
 *   const model = await loadModel('readmission.onnx', { name: 'readmission', version: '1.0.0' });
 */
export async function loadModel(file: string, options: LoadModelOptions): Promise<LoadedModel> {
  try {
    await access(file, constants.R_OK);
  } catch {
    throw new ModelLoadError(`model file ${file} does not exist or is not readable`);
  }
  const started = performance.now();
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(file, {
      intraOpNumThreads: Math.min(options.intraOpThreads ?? 1, options.maxThreads ?? Infinity),
      interOpNumThreads: 1, // never above any cap: a cap is at least 1
      graphOptimizationLevel: 'all',
    });
  } catch (err) {
    throw new ModelLoadError(`model file ${file} could not be loaded by ONNX Runtime: ${firstLine(err)}`);
  }
  try {
    const inputs = session.inputMetadata.map((m) => toTensorSpec(m, 'input'));
    const outputs = session.outputMetadata.map((m) => toTensorSpec(m, 'output'));
    const batchable = [...inputs, ...outputs].every((t) => t.shape.length > 0 && t.shape[0] === -1);
    const loadSeconds = (performance.now() - started) / 1000;
    return {
      name: options.name,
      version: options.version,
      platform: 'onnxruntime_onnx',
      inputs,
      outputs,
      batchable,
      session,
      loadSeconds,
    };
  } catch (err) {
    await session.release();
    throw err;
  }
}

function toTensorSpec(meta: ort.InferenceSession.ValueMetadata, role: string): TensorSpec {
  if (!meta.isTensor)
    throw new ModelLoadError(`${role} '${meta.name}' is not a tensor (sequences and maps are not served)`);
  const info = fromOrtType(meta.type);
  if (!info)
    throw new ModelLoadError(
      `${role} '${meta.name}' has element type ${meta.type}, which the inference protocol cannot carry`,
    );
  const shape = meta.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : -1));
  const symbols = meta.shape.map((d) => (typeof d === 'string' && d !== '' ? d : undefined));
  return { name: meta.name, datatype: info.datatype, info, shape, symbols };
}

/** Finds a model tensor by name or explains which names exist. */
export function findTensor(list: readonly TensorSpec[], name: string, field: string, role: string): TensorSpec {
  const t = list.find((x) => x.name === name);
  if (!t) {
    throw new InvalidArgumentError(
      `${field}: model has no ${role} '${name}' (${role}s: ${list.map((x) => x.name).join(', ')})`,
    );
  }
  return t;
}

function firstLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.split('\n')[0]!.trim();
}
