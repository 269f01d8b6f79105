import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compareResponses } from './shadow-compare.js';

const res = (body: unknown, status = 200) => ({
  status,
  body: Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)),
});
const oip = (outputs: unknown[], extra: Record<string, unknown> = {}) => ({ model_name: 'm', ...extra, outputs });
const prob = (data: unknown, shape = [2, 1], name = 'probability', datatype = 'FP32') => ({
  name,
  datatype,
  shape,
  data,
});
const label = (data: unknown) => ({ name: 'label', datatype: 'INT64', shape: [2, 1], data });

test('identical outputs agree, whatever model_version and id say; elements are counted', () => {
  const a = oip([prob([0.25, 0.75]), label([0, 1])], { model_version: '1.0.0', id: 'x' });
  const b = oip([label([0, 1]), prob([0.25, 0.75])], { model_version: '1.1.0', id: 'y' });
  assert.deepEqual(compareResponses(res(a), res(b), 1e-6), { agreed: true, numericElements: 4, absDiffSum: 0 });
});

test('numbers agree within the tolerance, and the absolute differences add up', () => {
  const a = res(oip([prob([0.25, 0.75])]));
  const b = res(oip([prob([0.2500005, 0.7499])]));
  const strict = compareResponses(a, b, 1e-6);
  assert.equal(strict.agreed, false);
  assert.equal(strict.numericElements, 2);
  assert.ok(Math.abs(strict.absDiffSum - (0.0000005 + 0.0001)) < 1e-12, String(strict.absDiffSum));
  assert.equal(compareResponses(a, b, 1e-3).agreed, true);
  // Nested data is compared in row-major order, like flat data.
  assert.equal(compareResponses(res(oip([prob([[0.25], [0.75]])])), a, 0).agreed, true);
});

test('different names, shapes, datatypes, element counts or non-numeric elements disagree', () => {
  const base = res(oip([prob([0.25, 0.75])]));
  for (const other of [
    oip([prob([0.25, 0.75], [2, 1], 'score')]),
    oip([prob([0.25, 0.75], [1, 2])]),
    oip([prob([0.25, 0.75], [2, 1], 'probability', 'FP64')]),
    oip([prob([0.25])]),
    oip([prob([0.25, 0.75]), label([0, 1])]),
    oip([prob([0.25, '0.75'])]),
    oip([]),
  ]) {
    assert.equal(compareResponses(base, res(other), 1).agreed, false, JSON.stringify(other));
  }
  const bytes = (data: string[]) => res(oip([{ name: 'text', datatype: 'BYTES', shape: [2], data }]));
  assert.equal(compareResponses(bytes(['a', 'b']), bytes(['a', 'b']), 0).agreed, true);
  assert.deepEqual(compareResponses(bytes(['a', 'b']), bytes(['a', 'c']), 0), {
    agreed: false,
    numericElements: 0,
    absDiffSum: 0,
  });
});

test('a different status disagrees even with equal bodies', () => {
  const body = oip([prob([0.25, 0.75])]);
  assert.equal(compareResponses(res(body, 200), res(body, 201), 1).agreed, false);
  assert.equal(compareResponses(res('{"error":"x"}', 400), res('{"error":"x"}', 422), 1).agreed, false);
});

test('bodies that are not inference responses agree only when byte-equal', () => {
  assert.equal(compareResponses(res('plain text'), res('plain text'), 0).agreed, true);
  assert.equal(compareResponses(res('plain text'), res('plain text!'), 0).agreed, false);
  assert.equal(compareResponses(res('{"error":"x"}', 400), res('{"error":"x"}', 400), 0).agreed, true);
  assert.equal(
    compareResponses(res('{"error":"x"}'), res('{"error": "x"}'), 0).agreed,
    false,
    'JSON without outputs: bytes, not meaning',
  );
  assert.equal(compareResponses(res(''), res(''), 0).agreed, true);
  assert.equal(
    compareResponses(res('{"outputs":[1]}'), res('{"outputs":[1]}'), 0).agreed,
    true,
    'malformed outputs: bytes',
  );
  // One side an inference response, the other not: disagree.
  assert.equal(compareResponses(res(oip([prob([0.25, 0.75])])), res('{"error":"x"}'), 0).agreed, false);
  assert.equal(
    compareResponses(res('{"outputs": [{"name":'), res('{"outputs": [{"name":'), 0).agreed,
    true,
    'truncated JSON is bytes',
  );
});
