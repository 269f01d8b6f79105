/**
 * Compares a primary response with its mirror's (shadow releases). Pure and synchronous: the
 * caller decides where it runs (see shadow-comparer.ts).
 *
 * Open Inference Protocol responses (`{"outputs": [{name, datatype, shape, data}], ...}`) agree
 * when they have the same status, the same output names, and per output the same datatype, shape
 * and elements: numbers within `tolerance` (absolute), anything else (strings of BYTES tensors,
 * booleans) equal. Everything but `outputs` is ignored: `model_version` and `id` differ between
 * revisions by design. Any other body (not JSON, or JSON without an `outputs` array, such as an
 * error) agrees only when the statuses are equal and the bytes are identical.
 *
 * Plain HTTP applications (`protocol: http`) agree when the statuses are equal and the bodies are
 * byte for byte the same, or both JSON documents of equal value (key order and spacing aside).
 */
import { isDeepStrictEqual } from 'node:util';
import type { RouteProtocol } from '../protocol/route-table.js';

/** One side of a pair: its status and whole body. */
export interface ComparedResponse {
  readonly status: number;
  readonly body: Uint8Array;
}

/** What one comparison found. */
export interface Comparison {
  readonly agreed: boolean;
  /** Numeric output elements compared (pairs of numbers in same-named outputs of equal length). */
  readonly numericElements: number;
  /** Sum of |primary − mirror| over those elements. */
  readonly absDiffSum: number;
}

interface Output {
  readonly name?: unknown;
  readonly datatype?: unknown;
  readonly shape?: unknown;
  readonly data?: unknown;
}

/**
 * Compares `primary` with `shadow`.
 *
 * @example
 *   compareResponses({ status: 200, body: a }, { status: 200, body: b }, 1e-6).agreed
 */
export function compareResponses(
  primary: ComparedResponse,
  shadow: ComparedResponse,
  tolerance: number,
  protocol: RouteProtocol = 'oip',
): Comparison {
  if (protocol === 'http') return { agreed: sameHttpAnswer(primary, shadow), numericElements: 0, absDiffSum: 0 };
  const a = outputsOf(primary.body);
  const b = outputsOf(shadow.body);
  const sameStatus = primary.status === shadow.status;
  if (a === undefined || b === undefined) {
    const agreed =
      sameStatus &&
      a === undefined &&
      b === undefined &&
      Buffer.from(primary.body.buffer, primary.body.byteOffset, primary.body.byteLength).equals(shadow.body);
    return { agreed, numericElements: 0, absDiffSum: 0 };
  }
  const result = compareOutputs(a, b, tolerance);
  return sameStatus ? result : { ...result, agreed: false };
}

/** Same status, and the same bytes or the same JSON value. */
function sameHttpAnswer(primary: ComparedResponse, shadow: ComparedResponse): boolean {
  if (primary.status !== shadow.status) return false;
  const a = Buffer.from(primary.body.buffer, primary.body.byteOffset, primary.body.byteLength);
  if (a.equals(shadow.body)) return true;
  const x = jsonOf(a);
  return (
    x !== undefined &&
    isDeepStrictEqual(x, jsonOf(Buffer.from(shadow.body.buffer, shadow.body.byteOffset, shadow.body.byteLength)))
  );
}

/** The JSON value of a body, or undefined when it is not JSON. */
function jsonOf(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}

/** Element-wise comparison of two `outputs` arrays, matched by name. */
export function compareOutputs(a: readonly Output[], b: readonly Output[], tolerance: number): Comparison {
  const byName = new Map<unknown, Output>();
  for (const output of b) byName.set(output.name, output);
  let agreed = a.length === b.length && byName.size === b.length;
  let numericElements = 0;
  let absDiffSum = 0;
  for (const x of a) {
    const y = byName.get(x.name);
    if (y === undefined) {
      agreed = false;
      continue;
    }
    if (x.datatype !== y.datatype || !sameShape(x.shape, y.shape)) agreed = false;
    const xs = flat(x.data);
    const ys = flat(y.data);
    if (xs.length !== ys.length) {
      agreed = false;
      continue;
    }
    for (let i = 0; i < xs.length; i++) {
      const p = xs[i];
      const q = ys[i];
      if (typeof p === 'number' && typeof q === 'number') {
        const d = Math.abs(p - q);
        numericElements++;
        absDiffSum += d;
        if (!(d <= tolerance)) agreed = false;
      } else if (p !== q) {
        agreed = false;
      }
    }
  }
  return { agreed, numericElements, absDiffSum };
}

/** The `outputs` array of an inference response body; undefined when the body is not one. */
function outputsOf(body: Uint8Array): Output[] | undefined {
  // A JSON document starts with `{` (after optional whitespace); skip parsing anything else.
  let i = 0;
  while (i < body.length && (body[i] === 0x20 || body[i] === 0x0a || body[i] === 0x0d || body[i] === 0x09)) i++;
  if (body[i] !== 0x7b) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8'));
  } catch {
    return undefined;
  }
  const outputs = (json as { outputs?: unknown }).outputs;
  if (!Array.isArray(outputs) || !outputs.every((o) => typeof o === 'object' && o !== null && !Array.isArray(o)))
    return undefined;
  return outputs as Output[];
}

function sameShape(a: unknown, b: unknown): boolean {
  if (!Array.isArray(a) || !Array.isArray(b)) return a === b;
  return a.length === b.length && a.every((n, i) => n === b[i]);
}

/** Tensor data flattened in row-major order (the protocol allows flat or nested `data`). */
function flat(data: unknown): readonly unknown[] {
  if (!Array.isArray(data)) return [data];
  return data.some(Array.isArray) ? data.flat(Infinity) : data;
}
