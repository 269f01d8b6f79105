// The local runtime's restart policy as pure rules: capped exponential back-off, and when a
// replica counts as crash-looping and as stable again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { backoffDelay, CrashHistory } from '../src/runtime/local/backoff.js';

test('back-off doubles from the initial delay and is capped', () => {
  const policy = { initialMs: 500, maxMs: 30_000 };
  const table: [number, number][] = [
    [1, 500],
    [2, 1_000],
    [3, 2_000],
    [6, 16_000],
    [7, 30_000],
    [50, 30_000],
    [0, 500],
  ];
  for (const [attempt, expected] of table) assert.equal(backoffDelay(policy, attempt), expected, `attempt ${attempt}`);
});

test('crash loop: threshold exits within the window; exits older than the window do not count', () => {
  const history = new CrashHistory(3, 60_000);
  assert.equal(history.recordExit(0, 'exited with code 1'), 1);
  assert.equal(history.recordExit(70_000, 'exited with code 1'), 2, 'back-off keeps growing until stable');
  assert.equal(history.recordExit(80_000, 'exited with code 1'), 3);
  assert.equal(history.crashLooping, false, 'the first exit fell out of the window');
  history.recordExit(90_000, 'exited with code 2');
  assert.equal(history.crashLooping, true);
  assert.equal(history.lastExit, 'exited with code 2');
});

test('crash loop ends only after the replica stayed ready for a whole window', () => {
  const history = new CrashHistory(2, 10_000);
  history.recordExit(0, 'x');
  history.recordExit(100, 'x');
  assert.equal(history.crashLooping, true);
  assert.equal(history.settle(undefined, 50_000), false, 'not ready: still looping, however long ago the exits were');
  assert.equal(history.settle(1_000, 5_000), false, 'ready, but not for a window yet');
  assert.equal(history.settle(1_000, 11_000), true);
  assert.equal(history.crashLooping, false);
  assert.equal(history.recordExit(12_000, 'x'), 1, 'back-off starts over');
});
