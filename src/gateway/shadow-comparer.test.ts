import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ShadowComparer } from './shadow-comparer.js';

const response = (values: number[]) => ({
  status: 200,
  body: Buffer.from(
    JSON.stringify({ outputs: [{ name: 'y', datatype: 'FP64', shape: [values.length], data: values }] }),
  ),
});

test('small pairs are compared on the event loop, large ones in the worker, with the same result', async () => {
  const comparer = new ShadowComparer(1024);
  try {
    const small = await comparer.compare(response([1, 2]), response([1, 2.5]), 0);
    assert.deepEqual(small, { agreed: false, numericElements: 2, absDiffSum: 0.5 });
    assert.equal(comparer.offloaded, 0);
    const values = Array.from({ length: 1000 }, (_, i) => i / 7);
    const large = await comparer.compare(
      response(values),
      response(values.map((v, i) => (i === 10 ? v + 0.25 : v))),
      0,
    );
    assert.deepEqual(large, { agreed: false, numericElements: 1000, absDiffSum: 0.25 });
    assert.equal(comparer.offloaded, 1);
    // Several at once share the one worker; each gets its own answer.
    const many = await Promise.all(
      [0, 1, 2].map((k) => comparer.compare(response(values), response(values.map((v) => v + k)), 0.5)),
    );
    assert.deepEqual(
      many.map((c) => c?.agreed),
      [true, false, false],
    );
    assert.equal(comparer.offloaded, 4);
  } finally {
    await comparer.close();
  }
  assert.equal(await comparer.compare(response([1]), response([1]), 0), undefined, 'closed: no comparison');
});
