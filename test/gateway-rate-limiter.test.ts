// The gateway's token buckets (src/gateway/rate-limiter.ts) on a manual clock: burst, refill,
// Retry-After rounding, buckets per key, and the bounds on memory (idle buckets forgotten, a cap).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { TokenBuckets } from '../src/gateway/rate-limiter.js';
import { ManualClock } from './support/fake-clock.js';

const limit = (requestsPerSecond: number, burst: number) => ({ requestsPerSecond, burst, per: 'client' as const });

describe('token buckets', () => {
  test('a full bucket admits `burst` requests at once, then refuses with the seconds until a token is back', async () => {
    const clock = new ManualClock();
    const buckets = new TokenBuckets(limit(2, 3), clock);
    assert.deepEqual(
      [1, 2, 3].map(() => buckets.take('a')),
      [0, 0, 0],
    );
    // Empty: one token comes back every 500 ms, which Retry-After rounds up to 1 s.
    assert.equal(buckets.take('a'), 1);
    await clock.advance(499);
    assert.equal(buckets.take('a'), 1);
    await clock.advance(1);
    assert.equal(buckets.take('a'), 0, 'a refused request takes no token: the refill is whole at 500 ms');
    assert.equal(buckets.take('a'), 1);
  });

  test('refill is continuous and capped at the burst', async () => {
    const clock = new ManualClock();
    const buckets = new TokenBuckets(limit(10, 5), clock);
    for (let i = 0; i < 5; i++) assert.equal(buckets.take('a'), 0);
    assert.equal(buckets.take('a'), 1);
    await clock.advance(250); // 2.5 tokens back
    assert.deepEqual([buckets.take('a'), buckets.take('a'), buckets.take('a')], [0, 0, 1]);
    await clock.advance(60_000); // long idle: back to 5, not 600
    const admitted = Array.from({ length: 8 }, () => buckets.take('a')).filter((w) => w === 0).length;
    assert.equal(admitted, 5);
  });

  test('Retry-After is rounded up to whole seconds from the missing fraction of a token', async () => {
    const clock = new ManualClock();
    const slow = new TokenBuckets(limit(0.1, 1), clock); // one request per 10 s
    assert.equal(slow.take('a'), 0);
    assert.equal(slow.take('a'), 10);
    await clock.advance(2_500);
    assert.equal(slow.take('a'), 8, '7.5 s left → 8');
    await clock.advance(7_400);
    assert.equal(slow.take('a'), 1, '0.1 s left → 1');
  });

  test('each key has its own bucket', () => {
    const buckets = new TokenBuckets(limit(1, 1), new ManualClock());
    assert.equal(buckets.take('a'), 0);
    assert.equal(buckets.take('a'), 1);
    assert.equal(buckets.take('b'), 0);
    assert.equal(buckets.take('t token-1'), 0);
    assert.equal(buckets.size, 3);
  });

  test('buckets idle long enough to be full again are forgotten, busy ones are kept', async () => {
    const clock = new ManualClock();
    const buckets = new TokenBuckets(limit(1, 2), clock); // refills in 2 s
    for (let i = 0; i < 1_000; i++) buckets.take(`client-${i}`);
    buckets.take('busy');
    buckets.take('busy');
    assert.equal(buckets.size, 1_001);
    await clock.advance(1_900);
    buckets.take('busy'); // 1.9 tokens back, one taken: 0.9, so not full when the others are
    await clock.advance(1_000); // the others are full again by now; the sweep runs on the next take
    assert.equal(buckets.take('busy'), 0);
    assert.equal(buckets.size, 1, `only the busy bucket is left, not ${buckets.size}`);
    // A forgotten caller starts again with a full bucket, as it would have had anyway.
    assert.deepEqual([buckets.take('client-7'), buckets.take('client-7'), buckets.take('client-7')], [0, 0, 1]);
  });

  test('at most maxBuckets are held, however many callers arrive within a refill period', () => {
    const buckets = new TokenBuckets(limit(1, 100), new ManualClock(), 1_000);
    for (let i = 0; i < 50_000; i++) buckets.take(`addr-${i}`);
    assert.ok(buckets.size <= 1_000, `${buckets.size} buckets`);
    // The newest callers keep theirs: the last one has used a token of its 100.
    const admitted = Array.from({ length: 100 }, () => buckets.take('addr-49999')).filter((w) => w === 0).length;
    assert.equal(admitted, 99);
  });
});
