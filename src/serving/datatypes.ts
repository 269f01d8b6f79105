/**
 * The Open Inference Protocol datatypes that ONNX Runtime supports, and how each maps to an ONNX
 * Runtime tensor type and a JavaScript typed array. Kept as one table so the codec, the metadata
 * and the batcher agree on every type.
 */
import { halfBitsToNumber, numberToHalfBits } from './float16.js';

/** A protocol datatype name, e.g. `FP32`. */
export type Datatype =
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

/** The ONNX Runtime (onnxruntime-common) tensor type names we map to. */
export type OrtType =
  | 'bool'
  | 'int8'
  | 'int16'
  | 'int32'
  | 'int64'
  | 'uint8'
  | 'uint16'
  | 'uint32'
  | 'uint64'
  | 'float16'
  | 'float32'
  | 'float64'
  | 'string';

/** Storage of one tensor's elements, as ONNX Runtime's Node binding takes and returns them. */
export type TensorData =
  | Uint8Array
  | Int8Array
  | Int16Array
  | Int32Array
  | BigInt64Array
  | Uint16Array
  | Uint32Array
  | BigUint64Array
  | Float32Array
  | Float64Array
  | string[];

type ElementKind = 'float' | 'int' | 'bigint' | 'bool' | 'half' | 'string';

/** Everything the server needs to know about one datatype. */
export interface DatatypeInfo {
  readonly datatype: Datatype;
  readonly ort: OrtType;
  readonly kind: ElementKind;
  /** Inclusive value range for integer kinds. */
  readonly min?: number | bigint;
  readonly max?: number | bigint;
  /**
   * Largest finite magnitude for float kinds: a JSON number beyond it would be stored as ±Infinity
   * (and come back as `null`), so it is refused instead. FP64 takes every JSON number.
   */
  readonly limit?: number;
  /** Allocates storage for `n` elements. */
  readonly allocate: (n: number) => TensorData;
}

/** The largest finite FP32 value (2^128 − 2^104). */
export const FP32_MAX = 3.4028234663852886e38;
/** The largest finite FP16 value. */
export const FP16_MAX = 65504;

const table: readonly DatatypeInfo[] = [
  { datatype: 'BOOL', ort: 'bool', kind: 'bool', allocate: (n) => new Uint8Array(n) },
  { datatype: 'INT8', ort: 'int8', kind: 'int', min: -128, max: 127, allocate: (n) => new Int8Array(n) },
  { datatype: 'INT16', ort: 'int16', kind: 'int', min: -32768, max: 32767, allocate: (n) => new Int16Array(n) },
  {
    datatype: 'INT32',
    ort: 'int32',
    kind: 'int',
    min: -2147483648,
    max: 2147483647,
    allocate: (n) => new Int32Array(n),
  },
  {
    datatype: 'INT64',
    ort: 'int64',
    kind: 'bigint',
    min: -(2n ** 63n),
    max: 2n ** 63n - 1n,
    allocate: (n) => new BigInt64Array(n),
  },
  { datatype: 'UINT8', ort: 'uint8', kind: 'int', min: 0, max: 255, allocate: (n) => new Uint8Array(n) },
  { datatype: 'UINT16', ort: 'uint16', kind: 'int', min: 0, max: 65535, allocate: (n) => new Uint16Array(n) },
  { datatype: 'UINT32', ort: 'uint32', kind: 'int', min: 0, max: 4294967295, allocate: (n) => new Uint32Array(n) },
  {
    datatype: 'UINT64',
    ort: 'uint64',
    kind: 'bigint',
    min: 0n,
    max: 2n ** 64n - 1n,
    allocate: (n) => new BigUint64Array(n),
  },
  { datatype: 'FP16', ort: 'float16', kind: 'half', limit: FP16_MAX, allocate: (n) => new Uint16Array(n) },
  { datatype: 'FP32', ort: 'float32', kind: 'float', limit: FP32_MAX, allocate: (n) => new Float32Array(n) },
  { datatype: 'FP64', ort: 'float64', kind: 'float', limit: Number.MAX_VALUE, allocate: (n) => new Float64Array(n) },
  { datatype: 'BYTES', ort: 'string', kind: 'string', allocate: (n) => new Array<string>(n).fill('') },
];

const byDatatype = new Map<string, DatatypeInfo>(table.map((t) => [t.datatype, t]));
const byOrt = new Map<string, DatatypeInfo>(table.map((t) => [t.ort, t]));

/** The supported datatype names, for error messages. */
export const SUPPORTED_DATATYPES: readonly Datatype[] = table.map((t) => t.datatype);

/** Looks up a protocol datatype; undefined when unknown or unsupported (e.g. BF16). */
export function datatypeInfo(name: string): DatatypeInfo | undefined {
  return byDatatype.get(name);
}

/** Maps an ONNX Runtime tensor type to its protocol datatype; undefined for types we cannot serve. */
export function fromOrtType(ort: string): DatatypeInfo | undefined {
  return byOrt.get(ort);
}

/**
 * Converts one JSON element to its stored form, or returns undefined when the value is not
 * acceptable for the datatype (wrong JSON type, not an integer, out of range). Booleans accept
 * `true`/`false` and 0/1, the coercion the protocol leaves to the server.
 */
export function convertElement(info: DatatypeInfo, v: unknown): number | bigint | string | undefined {
  switch (info.kind) {
    case 'float':
      return typeof v === 'number' && v <= info.limit! && v >= -info.limit! ? v : undefined;
    case 'half':
      return typeof v === 'number' && v <= info.limit! && v >= -info.limit! ? numberToHalfBits(v) : undefined;
    case 'int':
      return typeof v === 'number' && Number.isInteger(v) && v >= (info.min as number) && v <= (info.max as number)
        ? v
        : undefined;
    case 'bigint': {
      if (typeof v !== 'number' || !Number.isInteger(v)) return undefined;
      const b = BigInt(v);
      return b >= (info.min as bigint) && b <= (info.max as bigint) ? b : undefined;
    }
    case 'bool':
      if (v === true || v === 1) return 1;
      if (v === false || v === 0) return 0;
      return undefined;
    case 'string':
      return typeof v === 'string' ? v : undefined;
  }
}

/** Describes what `convertElement` accepts, for error messages. */
export function expectedElement(info: DatatypeInfo): string {
  switch (info.kind) {
    case 'float':
    case 'half':
      return 'a number';
    case 'int':
    case 'bigint':
      return `an integer in [${String(info.min)}, ${String(info.max)}]`;
    case 'bool':
      return 'true, false, 0 or 1';
    case 'string':
      return 'a string';
  }
}

/**
 * Serialises tensor elements as the inside of a JSON array (without brackets). Typed arrays use
 * the engine's `join`, which is far faster than element-wise stringify on the hot path.
 */
export function encodeElements(info: DatatypeInfo, data: TensorData): string {
  switch (info.kind) {
    case 'float': {
      const s = (data as Float32Array | Float64Array).join(',');
      // JSON has no NaN or Infinity; they only appear in the joined text as these letters.
      return s.includes('N') || s.includes('I') ? s.replace(/-?(NaN|Infinity)/g, 'null') : s;
    }
    case 'half': {
      const bits = data as Uint16Array;
      const out = new Array<string>(bits.length);
      for (let i = 0; i < bits.length; i++) {
        const x = halfBitsToNumber(bits[i]!);
        out[i] = Number.isFinite(x) ? String(x) : 'null';
      }
      return out.join(',');
    }
    case 'int':
    case 'bigint':
      return (data as Int32Array | BigInt64Array).join(',');
    case 'bool': {
      const bytes = data as Uint8Array;
      const out = new Array<string>(bytes.length);
      for (let i = 0; i < bytes.length; i++) out[i] = bytes[i] ? 'true' : 'false';
      return out.join(',');
    }
    case 'string':
      return JSON.stringify(data).slice(1, -1);
  }
}
