/**
 * Decodes a tensor's `data` array, flat or nested in row-major order, into typed storage. Nested
 * arrays must be regular: at each level either `shape[d]` sub-arrays or all remaining elements as
 * scalars. Ragged, mixed or too-deep nesting and wrongly typed elements are rejected with the path.
 */
import { InvalidArgumentError } from '../core/errors.js';
import { convertElement, type DatatypeInfo, expectedElement, type TensorData } from './datatypes.js';

/**
 * Returns the elements of `data` for a tensor of `shape` and datatype `info`; `tensor` (the input's
 * name) is named in the message for a float beyond its datatype's range.
 */
export function decodeTensorData(
  data: unknown[],
  shape: readonly number[],
  info: DatatypeInfo,
  field: string,
  tensor?: string,
): TensorData {
  let count = 1;
  for (const d of shape) count *= d;
  const out = info.allocate(count);
  // Fast path: the common flat numeric array, with no recursion and no conversions to check.
  if (
    data.length === count &&
    (info.kind === 'float' || info.kind === 'int') &&
    fillFlatNumbers(data, out as Float32Array, info)
  ) {
    return out;
  }
  const filled = fill(data, 0, shape, info, out, 0, field, tensor);
  if (filled !== count) {
    throw new InvalidArgumentError(`${field}: has ${filled} elements but shape [${shape.join(',')}] needs ${count}`);
  }
  return out;
}

/** Copies a flat array of plain numbers; returns false (having written garbage) if any element needs the slow path. */
function fillFlatNumbers(data: unknown[], out: Float32Array, info: DatatypeInfo): boolean {
  if (info.kind === 'float') {
    // Beyond the limit a value would be stored as ±Infinity: the slow path refuses it by name.
    const limit = info.limit!;
    for (let i = 0; i < data.length; i++) {
      const v = data[i];
      if (typeof v !== 'number' || v > limit || v < -limit) return false;
      out[i] = v;
    }
    return true;
  }
  const min = info.min as number;
  const max = info.max as number;
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) return false;
    out[i] = v;
  }
  return true;
}

function fill(
  level: unknown[],
  depth: number,
  shape: readonly number[],
  info: DatatypeInfo,
  out: TensorData,
  at: number,
  path: string,
  tensor: string | undefined,
): number {
  const nested = level.length > 0 && Array.isArray(level[0]);
  if (nested) {
    if (depth >= shape.length - 1) {
      throw new InvalidArgumentError(`${path}: nested deeper than the tensor's rank ${shape.length}`);
    }
    if (level.length !== shape[depth]) {
      throw new InvalidArgumentError(`${path}: has ${level.length} rows but dimension ${depth} is ${shape[depth]}`);
    }
    for (let i = 0; i < level.length; i++) {
      const child = level[i];
      if (!Array.isArray(child)) {
        throw new InvalidArgumentError(
          `${path}[${i}]: ragged data: expected an array like its siblings, got ${describe(child)}`,
        );
      }
      at = fill(child, depth + 1, shape, info, out, at, `${path}[${i}]`, tensor);
    }
    return at;
  }
  let remaining = 1;
  for (let d = depth; d < shape.length; d++) remaining *= shape[d]!;
  if (depth > 0 && level.length !== remaining) {
    throw new InvalidArgumentError(`${path}: ragged data: has ${level.length} elements, expected ${remaining}`);
  }
  if (at + level.length > out.length) {
    throw new InvalidArgumentError(`${path}: has more elements than shape [${shape.join(',')}] holds (${out.length})`);
  }
  for (let i = 0; i < level.length; i++) {
    const v = level[i];
    const converted = convertElement(info, v);
    if (converted === undefined) {
      if (typeof v === 'number' && info.limit !== undefined) {
        // Stored, it would become ±Infinity, which JSON cannot carry back (it would read `null`).
        const of = tensor === undefined ? '' : ` of input '${tensor}'`;
        throw new InvalidArgumentError(
          `${path}[${i}]: ${info.datatype} element${of} must be within ±${info.limit} (the largest finite ${info.datatype}), got ${v}`,
        );
      }
      const what = Array.isArray(v) ? 'ragged data: an array among scalars' : describe(v);
      throw new InvalidArgumentError(
        `${path}[${i}]: ${info.datatype} element must be ${expectedElement(info)}, got ${what}`,
      );
    }
    (out as unknown as (number | bigint | string)[])[at + i] = converted;
  }
  return at + level.length;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 20 ? `${v.slice(0, 20)}…` : v)}`;
  if (typeof v === 'object') return 'an object';
  return `${typeof v} ${String(v)}`;
}
