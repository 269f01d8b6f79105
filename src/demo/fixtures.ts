/**
 * Small ONNX models for the model server's tests: every Open Inference Protocol datatype through
 * Identity, mixed input/output types, a fixed (unbatchable) first dimension, and a scalar.
 */
import { elemTypeCode, encodeModel, type ElemType } from './onnx-writer.js';

/** Tensor datatypes of the Open Inference Protocol (KServe v2) that map onto ONNX types. */
export type OipDatatype =
  | 'BOOL'
  | 'INT8'
  | 'INT16'
  | 'INT32'
  | 'INT64'
  | 'UINT8'
  | 'UINT16'
  | 'UINT32'
  | 'UINT64'
  | 'FP16'
  | 'FP32'
  | 'FP64'
  | 'BYTES';

/** For each OIP datatype: the ONNX element type and the onnxruntime-node `Tensor.type`. */
export const OIP_TYPES: Readonly<Record<OipDatatype, { onnx: ElemType; ort: string }>> = {
  BOOL: { onnx: 'BOOL', ort: 'bool' },
  INT8: { onnx: 'INT8', ort: 'int8' },
  INT16: { onnx: 'INT16', ort: 'int16' },
  INT32: { onnx: 'INT32', ort: 'int32' },
  INT64: { onnx: 'INT64', ort: 'int64' },
  UINT8: { onnx: 'UINT8', ort: 'uint8' },
  UINT16: { onnx: 'UINT16', ort: 'uint16' },
  UINT32: { onnx: 'UINT32', ort: 'uint32' },
  UINT64: { onnx: 'UINT64', ort: 'uint64' },
  FP16: { onnx: 'FLOAT16', ort: 'float16' },
  FP32: { onnx: 'FLOAT', ort: 'float32' },
  FP64: { onnx: 'DOUBLE', ort: 'float64' },
  // OIP BYTES carries arbitrary byte strings; ONNX has only (UTF-8) STRING for it.
  BYTES: { onnx: 'STRING', ort: 'string' },
};

/** All OIP datatypes, in the order the specification lists them. */
export const OIP_DATATYPES: readonly OipDatatype[] = Object.keys(OIP_TYPES) as OipDatatype[];

/**
 * For each datatype given, an input `in_<TYPE>` with dims [batch,2] passed through an Identity
 * node to output `out_<TYPE>`.
 */
export function identityModel(datatypes: readonly OipDatatype[] = OIP_DATATYPES): Uint8Array {
  return encodeModel({
    graphName: 'identity',
    producerName: 'wharf-fixtures',
    inputs: datatypes.map((t) => ({ name: `in_${t}`, type: OIP_TYPES[t].onnx, dims: ['batch', 2] })),
    outputs: datatypes.map((t) => ({ name: `out_${t}`, type: OIP_TYPES[t].onnx, dims: ['batch', 2] })),
    nodes: datatypes.map((t) => ({ op: 'Identity', inputs: [`in_${t}`], outputs: [`out_${t}`] })),
  });
}

/** Weights of {@link multiIoModel}'s `score` (per feature). */
const MULTI_IO_WEIGHTS = [0.5, -0.25, 1] as const;

/**
 * Two inputs of different types and three outputs of different types:
 * `features` FP32 [batch,3] and `offset` FP64 [batch,1] →
 * `score` FP32 [batch,1] = sigmoid(features·[0.5, -0.25, 1] + offset),
 * `label` INT64 [batch,1] = (score > 0.5), `doubled` FP64 [batch,1] = 2·offset.
 * {@link multiIoReference} computes the same in JS.
 */
export function multiIoModel(): Uint8Array {
  return encodeModel({
    graphName: 'multi_io',
    producerName: 'wharf-fixtures',
    inputs: [
      { name: 'features', type: 'FLOAT', dims: ['batch', 3] },
      { name: 'offset', type: 'DOUBLE', dims: ['batch', 1] },
    ],
    outputs: [
      { name: 'score', type: 'FLOAT', dims: ['batch', 1] },
      { name: 'label', type: 'INT64', dims: ['batch', 1] },
      { name: 'doubled', type: 'DOUBLE', dims: ['batch', 1] },
    ],
    initializers: [
      { name: 'weights', type: 'FLOAT', dims: [3, 1], data: Float32Array.from(MULTI_IO_WEIGHTS) },
      { name: 'half', type: 'FLOAT', dims: [], data: Float32Array.of(0.5) },
      { name: 'two', type: 'DOUBLE', dims: [], data: Float64Array.of(2) },
    ],
    nodes: [
      { op: 'MatMul', inputs: ['features', 'weights'], outputs: ['weighted'] },
      { op: 'Cast', inputs: ['offset'], outputs: ['offset_f32'], attributes: { to: { int: elemTypeCode('FLOAT') } } },
      { op: 'Add', inputs: ['weighted', 'offset_f32'], outputs: ['logit'] },
      { op: 'Sigmoid', inputs: ['logit'], outputs: ['score'] },
      { op: 'Greater', inputs: ['score', 'half'], outputs: ['positive'] },
      { op: 'Cast', inputs: ['positive'], outputs: ['label'], attributes: { to: { int: elemTypeCode('INT64') } } },
      { op: 'Mul', inputs: ['offset', 'two'], outputs: ['doubled'] },
    ],
  });
}

/** What {@link multiIoModel} computes for one row, in float64. */
export function multiIoReference(
  features: readonly number[],
  offset: number,
): { score: number; label: number; doubled: number } {
  const logit = MULTI_IO_WEIGHTS.reduce((s: number, w, i) => s + w * (features[i] ?? 0), offset);
  const score = 1 / (1 + Math.exp(-logit));
  return { score, label: score > 0.5 ? 1 : 0, doubled: 2 * offset };
}

/**
 * Input `x` FP32 with fixed dims [1,4] → output `y` FP32 [1,4] = 2·x. The first dimension is not
 * a batch dimension, so a server must not batch requests for this model.
 */
export function fixedBatchModel(): Uint8Array {
  return encodeModel({
    graphName: 'fixed_batch',
    producerName: 'wharf-fixtures',
    inputs: [{ name: 'x', type: 'FLOAT', dims: [1, 4] }],
    outputs: [{ name: 'y', type: 'FLOAT', dims: [1, 4] }],
    initializers: [{ name: 'two', type: 'FLOAT', dims: [], data: Float32Array.of(2) }],
    nodes: [{ op: 'Mul', inputs: ['x', 'two'], outputs: ['y'] }],
  });
}

/**
 * Input `x` FP32 scalar (shape []) → output `y` FP32 scalar = 2·x: a model with no batch
 * dimension at all, for the server's handling of rank-0 tensors.
 */
export function scalarModel(): Uint8Array {
  return encodeModel({
    graphName: 'scalar',
    producerName: 'wharf-fixtures',
    inputs: [{ name: 'x', type: 'FLOAT', dims: [] }],
    outputs: [{ name: 'y', type: 'FLOAT', dims: [] }],
    initializers: [{ name: 'two', type: 'FLOAT', dims: [], data: Float32Array.of(2) }],
    nodes: [{ op: 'Mul', inputs: ['x', 'two'], outputs: ['y'] }],
  });
}
