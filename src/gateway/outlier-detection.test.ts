import assert from 'node:assert/strict';
import { test } from 'node:test';
import { backoff, mayEject } from './outlier-detection.js';

const backends = (n: number, ejectedUntil: readonly number[] = []) =>
  Array.from({ length: n }, (_, i) => ({ ejectedUntil: ejectedUntil[i] ?? 0 }));

test('backoff doubles per ejection in a row and stops at the cap', () => {
  assert.deepEqual(
    [1, 2, 3, 4, 5, 6].map((n) => backoff(5000, 60_000, n)),
    [5000, 10_000, 20_000, 40_000, 60_000, 60_000],
  );
  assert.equal(backoff(1, 3_600_000, 1000), 3_600_000, 'a huge count does not overflow');
});

test('mayEject: floor(percent) of the backends, at least one of two or more, never the last usable one', () => {
  const now = 100;
  const cases: [n: number, percent: number, alreadyOut: number, allowed: boolean][] = [
    [1, 100, 0, false], // a single backend is never ejected
    [2, 50, 0, true],
    [2, 50, 1, false],
    [2, 100, 1, false], // never the last usable one
    [3, 10, 0, true],
    [3, 10, 1, false], // floor(0.3) = 0, but one is always allowed
    [3, 0, 0, true],
    [4, 50, 1, true],
    [4, 50, 2, false],
    [10, 30, 2, true],
    [10, 30, 3, false],
    [5, 100, 3, true],
    [5, 100, 4, false],
  ];
  for (const [n, percent, alreadyOut, allowed] of cases) {
    const list = backends(
      n,
      Array.from({ length: alreadyOut }, () => now + 1),
    );
    const candidate = list[n - 1]!;
    assert.equal(mayEject(list, candidate, percent, now), allowed, `${n} backends, ${percent}%, ${alreadyOut} out`);
  }
  // Ejections that have ended (on probation) do not count as out.
  assert.equal(mayEject(backends(2, [now]), {}, 50, now), true);
});
