import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InvalidArgumentError } from '../core/errors.js';
import { datatypeInfo, type DatatypeInfo } from './datatypes.js';
import { decodeTensorData } from './tensor-data.js';

const type = (name: string): DatatypeInfo => datatypeInfo(name)!;
const decode = (data: unknown[], shape: number[], dt = 'FP32') => decodeTensorData(data, shape, type(dt), 'data');
const rejects = (fn: () => unknown, pattern: RegExp) =>
  assert.throws(fn, (e: unknown) => e instanceof InvalidArgumentError && pattern.test(e.message));

test('flat and nested data decode to the same row-major elements', () => {
  const flat = decode([1, 2, 3, 4, 5, 6], [2, 3]);
  assert.deepEqual(Array.from(flat as Float32Array), [1, 2, 3, 4, 5, 6]);
  assert.deepEqual(
    decode(
      [
        [1, 2, 3],
        [4, 5, 6],
      ],
      [2, 3],
    ),
    flat,
  );
  assert.deepEqual(
    decode(
      [
        [
          [1, 2],
          [3, 4],
        ],
        [
          [5, 6],
          [7, 8],
        ],
      ],
      [2, 2, 2],
    ),
    decode([1, 2, 3, 4, 5, 6, 7, 8], [2, 2, 2]),
  );
  // Partly nested: two rows, each the remaining 4 elements flat.
  assert.deepEqual(
    decode(
      [
        [1, 2, 3, 4],
        [5, 6, 7, 8],
      ],
      [2, 2, 2],
    ),
    decode([1, 2, 3, 4, 5, 6, 7, 8], [2, 2, 2]),
  );
});

test('counts and nesting must match the shape', () => {
  rejects(() => decode([1, 2, 3], [2, 2]), /has 3 elements but shape \[2,2\] needs 4/);
  rejects(() => decode([1, 2, 3, 4, 5], [2, 2]), /more elements than shape/);
  rejects(() => decode([[1, 2], [3]], [2, 2]), /data\[1\]: ragged data: has 1 elements, expected 2/);
  rejects(() => decode([[1, 2], 3], [2, 2]), /data\[1\]: ragged data: expected an array/);
  rejects(
    () =>
      decode(
        [
          [1, [2]],
          [3, 4],
        ],
        [2, 2],
      ),
    /data\[0\]\[1\]: .*an array among scalars/,
  );
  rejects(() => decode([[[1]], [[2]]], [2, 1]), /nested deeper than the tensor's rank 2/);
  rejects(
    () =>
      decode(
        [
          [1, 2],
          [3, 4],
          [5, 6],
        ],
        [2, 2],
      ),
    /has 3 rows but dimension 0 is 2/,
  );
});

test('elements must fit the datatype', () => {
  rejects(() => decode(['1', 2], [2]), /data\[0\]: FP32 element must be a number, got the string "1"/);
  rejects(() => decode([null, 2], [2]), /got null/);
  rejects(() => decode([1.5], [1], 'INT32'), /INT32 element must be an integer/);
  rejects(() => decode([128], [1], 'INT8'), /INT8 element must be an integer in \[-128, 127\]/);
  rejects(() => decode([-1], [1], 'UINT32'), /UINT32/);
  rejects(() => decode([2], [1], 'BOOL'), /BOOL element must be true, false, 0 or 1/);
  rejects(() => decode([1], [1], 'BYTES'), /BYTES element must be a string/);
});

test("floats beyond their datatype's largest finite value are refused, not stored as Infinity", () => {
  rejects(
    () => decode([1, 1e39], [2]),
    /^data\[1\]: FP32 element must be within ±3\.4028234663852886e\+38 \(the largest finite FP32\), got 1e\+39$/,
  );
  rejects(() => decode([[-1e39]], [1, 1]), /data\[0\]\[0\]: FP32 element/);
  rejects(
    () => decode([1e6], [1], 'FP16'),
    /^data\[0\]: FP16 element must be within ±65504 \(the largest finite FP16\), got 1000000$/,
  );
  assert.throws(
    () => decodeTensorData([1e39], [1], type('FP32'), 'inputs[0].data', 'x'),
    /inputs\[0\]\.data\[0\]: FP32 element of input 'x' must be within/,
  );
  // The largest finite values themselves, and every JSON number for FP64, are fine.
  assert.deepEqual(
    Array.from(decode([3.4028234663852886e38, -3.4028234663852886e38], [2]) as Float32Array),
    [3.4028234663852886e38, -3.4028234663852886e38],
  );
  assert.deepEqual(decode([65504], [1], 'FP16'), new Uint16Array([0x7bff]));
  assert.deepEqual(decode([1e300], [1], 'FP64'), new Float64Array([1e300]));
});

test('each datatype decodes to its storage type', () => {
  assert.deepEqual(decode([true, false, 1, 0], [4], 'BOOL'), new Uint8Array([1, 0, 1, 0]));
  assert.deepEqual(decode([-(2 ** 40), 7], [2], 'INT64'), new BigInt64Array([-(2n ** 40n), 7n]));
  assert.deepEqual(decode([2 ** 52], [1], 'UINT64'), new BigUint64Array([2n ** 52n]));
  assert.deepEqual(decode([0.5, -2], [2], 'FP16'), new Uint16Array([0x3800, 0xc000]));
  assert.deepEqual(decode([0.1], [1], 'FP64'), new Float64Array([0.1]));
  assert.deepEqual(decode(['a', 'é✓'], [2], 'BYTES'), ['a', 'é✓']);
  assert.deepEqual(decode([-128, 127], [2], 'INT8'), new Int8Array([-128, 127]));
});

test('empty and scalar tensors', () => {
  assert.equal(decode([], [0, 16]).length, 0);
  assert.deepEqual(Array.from(decode([3], []) as Float32Array), [3]);
});
