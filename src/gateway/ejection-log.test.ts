import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EjectionLog } from './ejection-log.js';

const event = (backend: string) => ({
  environment: 'production',
  deployment: 'risk',
  revision: 3,
  backend,
  type: 'ejected' as const,
  reason: '5 consecutive 5xx responses',
  durationMs: 5000,
});

test('events get consecutive seq and the clock time; since(seq) returns the later ones, oldest first', () => {
  let now = 1_000;
  const log = new EjectionLog(10, undefined, () => now++);
  assert.equal(log.lastSeq, 0);
  assert.deepEqual(log.since(0), []);
  for (const b of ['a', 'b', 'c']) log.record(event(b));
  assert.deepEqual(
    log.since(0).map((e) => [e.seq, e.time, e.backend]),
    [
      [1, 1000, 'a'],
      [2, 1001, 'b'],
      [3, 1002, 'c'],
    ],
  );
  assert.deepEqual(
    log.since(2).map((e) => e.backend),
    ['c'],
  );
  assert.deepEqual(log.since(3), []);
  assert.deepEqual(log.since(99), []);
  assert.equal(log.lastSeq, 3);
});

test('the ring keeps the newest `capacity` events in order', () => {
  const log = new EjectionLog(4);
  for (let i = 1; i <= 11; i++) log.record(event(`b${i}`));
  assert.deepEqual(
    log.recent().map((e) => e.seq),
    [8, 9, 10, 11],
  );
  assert.deepEqual(
    log.since(0).map((e) => e.seq),
    [8, 9, 10, 11],
    'a reader that fell behind gets what is kept',
  );
  assert.deepEqual(
    log.since(9).map((e) => e.seq),
    [10, 11],
  );
});

test('each event is logged as one line naming the backend, the route and the reason', () => {
  const lines: string[] = [];
  const log = new EjectionLog(4, (line) => lines.push(line));
  log.record(event('risk-3-a'));
  log.record({
    ...event('risk-3-a'),
    type: 'readmitted',
    reason: 'answered 200 after ejection',
    durationMs: undefined,
  });
  assert.deepEqual(lines, [
    "ejected backend 'risk-3-a' (revision 3 of deployment 'risk' in environment 'production') for 5000 ms: 5 consecutive 5xx responses",
    "readmitted backend 'risk-3-a' (revision 3 of deployment 'risk' in environment 'production'): answered 200 after ejection",
  ]);
});
