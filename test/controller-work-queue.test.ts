import assert from 'node:assert/strict';
import { test } from 'node:test';
import { backoffDelay, WORK_QUEUE_DEFAULTS, WorkQueue } from '../src/controller/work-queue.js';
import { ManualClock } from './support/fake-clock.js';

/**
 * The queue's length after `ms` of its (fake) clock, every timer due by then fired and settled
 * (a pending `get` would steal a key later, so none is left waiting).
 */
async function lengthAfter(queue: WorkQueue, clock: ManualClock, ms: number): Promise<number> {
  await clock.advance(ms);
  return queue.length;
}

/** A queue on a fake clock (see `support/fake-clock.ts`): delays pass when the test advances it. */
function fakeTimedQueue(options: { baseDelayMs?: number; maxDelayMs?: number } = {}) {
  const clock = new ManualClock();
  return { q: new WorkQueue({ ...options, clock }), clock };
}

/** `get()` once the clock has advanced `ms` (firing delayed adds due by then), with the clock time it resolved at. */
async function getWithin(
  q: WorkQueue,
  clock: ManualClock,
  ms: number,
): Promise<{ key: string | undefined; at: number }> {
  let at: number | undefined;
  const got = q.get().then((key) => {
    at = clock.now();
    return key;
  });
  await clock.advance(ms);
  const key = await got;
  return { key, at: at ?? clock.now() };
}

test('backoffDelay doubles from the base up to the cap', () => {
  const { baseDelayMs: base, maxDelayMs: max } = WORK_QUEUE_DEFAULTS;
  const table: [number, number][] = [
    [0, 0],
    [1, 100],
    [2, 200],
    [3, 400],
    [9, 25_600],
    [10, 30_000],
    [11, 30_000],
    [5_000, 30_000],
  ];
  for (const [failures, delay] of table) assert.equal(backoffDelay(failures, base, max), delay, `failures=${failures}`);
});

test('a key waits in the queue at most once, in FIFO order', async () => {
  const { q, clock } = fakeTimedQueue();
  q.add('a');
  q.add('b');
  q.add('a');
  assert.equal(q.length, 2);
  assert.equal(await q.get(), 'a');
  assert.equal(await q.get(), 'b');
  assert.equal(await lengthAfter(q, clock, 20), 0);
  q.shutdown();
});

test('a key being processed is not handed out again; an add meanwhile runs it once more after done', async () => {
  const { q, clock } = fakeTimedQueue();
  q.add('a');
  const key = await q.get();
  assert.equal(key, 'a');
  q.add('a');
  q.add('a');
  assert.equal(q.length, 0, 'not queued while processing');
  assert.equal(await lengthAfter(q, clock, 20), 0, 'no second worker can get it');
  q.done('a');
  assert.equal(await q.get(), 'a', 're-queued once after done');
  q.done('a');
  assert.equal(await lengthAfter(q, clock, 20), 0);
  q.shutdown();
});

test('a waiting get is woken by an add', async () => {
  const { q, clock } = fakeTimedQueue();
  const waiting = q.get();
  clock.setTimeout(() => q.add('x'), 10);
  await clock.advance(10);
  assert.equal(await waiting, 'x');
  q.shutdown();
});

test('addAfter delays the add; the earliest pending delay wins', async () => {
  const { q, clock } = fakeTimedQueue();
  const t0 = clock.now();
  q.addAfter('a', 60);
  q.addAfter('a', 200); // later: ignored
  const a = await getWithin(q, clock, 400);
  assert.equal(a.key, 'a');
  const waited = a.at - t0;
  assert.ok(waited >= 55 && waited < 180, `waited ${waited} ms`);
  q.done('a');
  q.addAfter('b', 300);
  q.addAfter('b', 30); // sooner: replaces
  const t1 = clock.now();
  const b = await getWithin(q, clock, 400);
  assert.equal(b.key, 'b');
  assert.ok(b.at - t1 < 200, 'the sooner delay was used');
  q.shutdown();
});

test('addRateLimited backs off per key and forget resets it', async () => {
  const { q, clock } = fakeTimedQueue({ baseDelayMs: 10, maxDelayMs: 40 });
  assert.deepEqual([q.addRateLimited('a'), q.failures('a')], [10, 1]);
  assert.equal((await getWithin(q, clock, 10)).key, 'a');
  q.done('a');
  assert.equal(q.addRateLimited('a'), 20);
  assert.equal(q.addRateLimited('b'), 10, 'other keys have their own count');
  assert.equal((await getWithin(q, clock, 10)).key, 'b');
  assert.equal((await getWithin(q, clock, 10)).key, 'a');
  q.done('a');
  q.done('b');
  assert.equal(q.addRateLimited('a'), 40);
  assert.equal(q.addRateLimited('a'), 40, 'capped');
  q.forget('a');
  assert.equal(q.failures('a'), 0);
  assert.equal(q.addRateLimited('a'), 10);
  q.shutdown();
});

test('shutdown wakes waiting workers with undefined and drops delayed adds', async () => {
  const { q, clock } = fakeTimedQueue();
  const waiters = [q.get(), q.get()];
  q.addAfter('later', 30);
  q.shutdown();
  assert.deepEqual(await Promise.all(waiters), [undefined, undefined]);
  q.add('x');
  assert.equal(await q.get(), undefined);
  assert.equal(q.shuttingDown, true);
  assert.equal(clock.pendingTimers, 0, 'the delayed add was cancelled');
  await clock.advance(50);
  assert.equal(q.length, 0, 'the delayed add did not fire');
});
