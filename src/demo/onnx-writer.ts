/**
 * A small typed builder that turns a plain model description into ONNX ModelProto bytes, so the
 * demo models and test fixtures are produced in TypeScript with no Python at run time.
 *
 * It covers what a static inference graph needs (nodes with scalar and list attributes, typed
 * initializers, tensor inputs and outputs with fixed or symbolic dims, metadata) and nothing more:
 * no subgraphs, no sparse tensors, no external data.
 */
import { endianness } from 'node:os';
// onnx-proto is CommonJS that assigns `module.exports = $root`, which Node's CJS export detection
// cannot see through: a named ESM import of `onnx` fails at run time, the default import works.
import onnxProto from 'onnx-proto';
import type { onnx as OnnxTypes } from 'onnx-proto';

const { onnx } = onnxProto;

/** ONNX tensor element types this builder can declare (names as in `TensorProto.DataType`). */
export type ElemType =
  | 'FLOAT'
  | 'UINT8'
  | 'INT8'
  | 'UINT16'
  | 'INT16'
  | 'INT32'
  | 'INT64'
  | 'STRING'
  | 'BOOL'
  | 'FLOAT16'
  | 'DOUBLE'
  | 'UINT32'
  | 'UINT64';

/** One dimension of a tensor shape: a fixed size, or a symbolic name such as `'batch'`. */
export type Dim = number | string;

/** A typed graph input or output. */
export interface ValueInfoSpec {
  name: string;
  type: ElemType;
  /** Shape; `[]` declares a scalar, `undefined` leaves the rank unknown. */
  dims?: readonly Dim[];
  doc?: string;
}

/**
 * A node attribute. Tagged because a JS number cannot say whether it is an int or a float, and
 * ONNX operators reject an attribute of the wrong kind.
 */
export type AttributeSpec =
  | { int: number }
  | { float: number }
  | { ints: readonly number[] }
  | { floats: readonly number[] }
  | { string: string };

/** One operator node. */
export interface NodeSpec {
  op: string;
  inputs: readonly string[];
  outputs: readonly string[];
  name?: string;
  /** Operator domain; empty (the default ONNX domain) unless set. */
  domain?: string;
  attributes?: Readonly<Record<string, AttributeSpec>>;
}

/** Typed arrays accepted as initializer data; each element type requires one of them. */
export type TensorData =
  | Float32Array
  | Float64Array
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array;

/** A constant tensor stored in the graph (weights, biases, thresholds). */
export interface InitializerSpec {
  name: string;
  type: ElemType;
  /** Fixed shape; `[]` is a scalar. */
  dims: readonly number[];
  /** Row-major values; `string[]` for STRING, raw half-precision bits (Uint16Array) for FLOAT16. */
  data: TensorData | readonly string[];
}

/** Everything needed to encode one model. */
export interface ModelSpec {
  graphName: string;
  nodes: readonly NodeSpec[];
  inputs: readonly ValueInfoSpec[];
  outputs: readonly ValueInfoSpec[];
  initializers?: readonly InitializerSpec[];
  /** Default-domain opset version; 13 unless set. */
  opset?: number;
  producerName?: string;
  producerVersion?: string;
  modelVersion?: number;
  doc?: string;
  /** Free-form key/value pairs stored as `metadata_props` (visible to any ONNX reader). */
  metadata?: Readonly<Record<string, string>>;
}

/** The IR version written into every model: 8, as ONNX 1.10 to 1.13 write; every current ORT reads it. */
export const IR_VERSION = 8;
/** The default-domain opset used when a spec does not choose one. */
export const DEFAULT_OPSET = 13;

/** Which typed array each element type's data must come in (STRING takes `string[]`). */
const ARRAY_FOR_TYPE: Record<Exclude<ElemType, 'STRING'>, new (n: number) => TensorData> = {
  FLOAT: Float32Array,
  DOUBLE: Float64Array,
  FLOAT16: Uint16Array,
  BOOL: Uint8Array,
  UINT8: Uint8Array,
  INT8: Int8Array,
  UINT16: Uint16Array,
  INT16: Int16Array,
  INT32: Int32Array,
  UINT32: Uint32Array,
  INT64: BigInt64Array,
  UINT64: BigUint64Array,
};

/** The numeric `TensorProto.DataType` code of an element type. */
export function elemTypeCode(type: ElemType): number {
  return onnx.TensorProto.DataType[type];
}

/**
 * Encodes a model description as ONNX ModelProto bytes (ir_version 8, default opset 13).
 * Throws when initializer data does not match its declared type or shape.
 */
export function encodeModel(spec: ModelSpec): Uint8Array {
  const model: OnnxTypes.IModelProto = {
    irVersion: IR_VERSION,
    opsetImport: [{ domain: '', version: spec.opset ?? DEFAULT_OPSET }],
    producerName: spec.producerName ?? 'wharf',
    producerVersion: spec.producerVersion ?? '',
    modelVersion: spec.modelVersion ?? 0,
    docString: spec.doc ?? '',
    metadataProps: Object.entries(spec.metadata ?? {}).map(([key, value]) => ({ key, value })),
    graph: {
      name: spec.graphName,
      node: spec.nodes.map(encodeNode),
      initializer: (spec.initializers ?? []).map(encodeInitializer),
      input: spec.inputs.map(encodeValueInfo),
      output: spec.outputs.map(encodeValueInfo),
    },
  };
  return onnx.ModelProto.encode(model).finish();
}

function encodeNode(node: NodeSpec, index: number): OnnxTypes.INodeProto {
  const attribute = Object.entries(node.attributes ?? {}).map(([name, value]) => encodeAttribute(name, value));
  return {
    opType: node.op,
    name: node.name ?? `${node.op}_${index}`,
    domain: node.domain ?? '',
    input: [...node.inputs],
    output: [...node.outputs],
    attribute,
  };
}

function encodeAttribute(name: string, value: AttributeSpec): OnnxTypes.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if ('int' in value) return { name, type: T.INT, i: value.int };
  if ('float' in value) return { name, type: T.FLOAT, f: value.float };
  if ('ints' in value) return { name, type: T.INTS, ints: [...value.ints] };
  if ('floats' in value) return { name, type: T.FLOATS, floats: [...value.floats] };
  return { name, type: T.STRING, s: new TextEncoder().encode(value.string) };
}

function encodeValueInfo(info: ValueInfoSpec): OnnxTypes.IValueInfoProto {
  const tensorType: OnnxTypes.TypeProto.ITensor = { elemType: elemTypeCode(info.type) };
  // An absent shape means "rank unknown"; an empty shape message means "scalar".
  if (info.dims) {
    tensorType.shape = {
      dim: info.dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })),
    };
  }
  return { name: info.name, docString: info.doc ?? '', type: { tensorType } };
}

function encodeInitializer(init: InitializerSpec): OnnxTypes.ITensorProto {
  const count = init.dims.reduce((a, b) => a * b, 1);
  if (init.data.length !== count) {
    throw new Error(`initializer ${init.name}: ${init.data.length} values for dims [${init.dims.join(', ')}]`);
  }
  const base = { name: init.name, dims: [...init.dims], dataType: elemTypeCode(init.type) };
  if (init.type === 'STRING') {
    if (!Array.isArray(init.data)) throw new Error(`initializer ${init.name}: STRING data must be string[]`);
    const encoder = new TextEncoder();
    return { ...base, stringData: (init.data as readonly string[]).map((s) => encoder.encode(s)) };
  }
  const expected = ARRAY_FOR_TYPE[init.type];
  if (!(init.data instanceof expected)) {
    throw new Error(`initializer ${init.name}: ${init.type} data must be a ${expected.name}`);
  }
  // raw_data is little-endian by definition, so copying typed-array bytes is only correct on a
  // little-endian host (every platform onnxruntime-node ships for is one).
  if (endianness() !== 'LE') throw new Error('onnx-writer: raw_data encoding needs a little-endian host');
  const data = init.data;
  return { ...base, rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}
