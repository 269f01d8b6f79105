// One line per key per interval: a source failing on every poll does not flood the log.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { rateLimitedLog } from '../src/core/rate-limited-log.js';

test('the first line of each key is written, repeats within the interval are not, and one after it is', () => {
  const lines: string[] = [];
  let now = 0;
  const log = rateLimitedLog(
    (line) => lines.push(line),
    30_000,
    () => now,
  );
  log('metrics 0', 'a1');
  log('metrics 0', 'a2');
  log('ejections', 'b1');
  now = 29_999;
  log('metrics 0', 'a3');
  now = 30_000;
  log('metrics 0', 'a4');
  assert.deepEqual(lines, ['a1', 'b1', 'a4']);
});
