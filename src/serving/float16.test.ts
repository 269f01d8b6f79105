import assert from 'node:assert/strict';
import { test } from 'node:test';
import { halfBitsToNumber, numberToHalfBits } from './float16.js';

test('exact half values round-trip through their bit patterns', () => {
  const cases: [number, number][] = [
    [0, 0x0000],
    [1, 0x3c00],
    [-2, 0xc000],
    [0.5, 0x3800],
    [65504, 0x7bff],
    [2 ** -14, 0x0400],
    [2 ** -24, 0x0001],
    [Infinity, 0x7c00],
    [-Infinity, 0xfc00],
  ];
  for (const [value, bits] of cases) {
    assert.equal(numberToHalfBits(value), bits, `bits of ${value}`);
    assert.equal(halfBitsToNumber(bits), value, `value of 0x${bits.toString(16)}`);
  }
  assert.ok(Object.is(halfBitsToNumber(numberToHalfBits(-0)), -0));
});

test('rounds to nearest, ties to even, and saturates to infinity', () => {
  assert.equal(halfBitsToNumber(numberToHalfBits(0.1)), 0.0999755859375);
  // 1 + 2^-11 is exactly halfway between 1 and the next half (1 + 2^-10): ties go to the even mantissa, 1.
  assert.equal(halfBitsToNumber(numberToHalfBits(1 + 2 ** -11)), 1);
  // 1 + 3*2^-11 is halfway between 1+2^-10 (odd) and 1+2^-9 (even).
  assert.equal(halfBitsToNumber(numberToHalfBits(1 + 3 * 2 ** -11)), 1 + 2 ** -9);
  assert.equal(halfBitsToNumber(numberToHalfBits(65520)), Infinity);
  assert.equal(halfBitsToNumber(numberToHalfBits(1e-9)), 0);
  assert.ok(Number.isNaN(halfBitsToNumber(numberToHalfBits(NaN))));
});

test('every finite half pattern survives number → bits → number', () => {
  for (let bits = 0; bits < 0x10000; bits++) {
    const v = halfBitsToNumber(bits);
    if (!Number.isFinite(v)) continue;
    assert.equal(halfBitsToNumber(numberToHalfBits(v)), v);
  }
});
