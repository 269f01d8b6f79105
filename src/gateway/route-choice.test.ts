import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cookieValue, stickyPoint } from './route-choice.js';

test('cookieValue finds one cookie by exact name, trims spaces and quotes, first wins', () => {
  const header = 'session=abc; variant=b;theme = "dark" ;empty=; variant=c; Variant=d';
  assert.equal(cookieValue(header, 'variant'), 'b');
  assert.equal(cookieValue(header, 'Variant'), 'd');
  assert.equal(cookieValue(header, 'theme'), 'dark');
  assert.equal(cookieValue(header, 'session'), 'abc');
  assert.equal(cookieValue(header, 'empty'), '');
  assert.equal(cookieValue(header, 'sess'), undefined);
  assert.equal(cookieValue(header, 'missing'), undefined);
  assert.equal(cookieValue(undefined, 'variant'), undefined);
  assert.equal(cookieValue('novalue; variant=x', 'novalue'), undefined);
  assert.equal(cookieValue('novalue; variant=x', 'variant'), 'x');
  assert.equal(cookieValue('a=1=2', 'a'), '1=2', 'only the first = separates name and value');
  assert.equal(cookieValue('a="', 'a'), '"', 'a lone quote is a value');
});

test('stickyPoint is stable, in [0, 1), and spreads similar keys evenly', () => {
  assert.equal(stickyPoint('user-1'), stickyPoint('user-1'));
  const buckets = new Array<number>(10).fill(0);
  const n = 10_000;
  for (let i = 0; i < n; i++) {
    const p = stickyPoint(`user-${i}`);
    assert.ok(p >= 0 && p < 1, String(p));
    buckets[Math.floor(p * 10)]!++;
  }
  // Each decile expects 1,000 (sd ≈ 30); ±150 is 5 sd.
  for (const [i, count] of buckets.entries())
    assert.ok(Math.abs(count - n / 10) < 150, `decile ${i}: ${count} of ${n}: ${buckets.join(',')}`);
  assert.notEqual(stickyPoint(''), stickyPoint('a'));
});
