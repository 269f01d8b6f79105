import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AssignmentLog, MAX_LOGGED_ID_LENGTH } from './assignment-log.js';

const a = (revision: number) => ({ environment: 'prod', deployment: 'risk', revision });

test('remembers the last `capacity` ids, forgetting the oldest first', () => {
  const log = new AssignmentLog(3);
  log.record('r1', a(1));
  log.record('r2', a(2));
  log.record('r3', a(1));
  assert.deepEqual(log.get('r1'), a(1));
  log.record('r4', a(2));
  assert.equal(log.get('r1'), undefined, 'r1 was the oldest');
  assert.deepEqual([log.get('r2'), log.get('r3'), log.get('r4')], [a(2), a(1), a(2)]);
  assert.equal(log.size, 3);
});

test('an id recorded again keeps its newest assignment, and survives the eviction of its older slot', () => {
  const log = new AssignmentLog(3);
  log.record('r1', a(1));
  log.record('r2', a(1));
  log.record('r1', a(2)); // slot 2; slot 0 still names r1
  log.record('r3', a(1)); // evicts slot 0 (the stale r1)
  assert.deepEqual(log.get('r1'), a(2));
  assert.deepEqual(log.get('r2'), a(1));
  log.record('r4', a(1)); // evicts r2
  log.record('r5', a(1)); // evicts slot 2: r1 itself
  assert.equal(log.get('r1'), undefined);
  assert.equal(log.size, 3);
});

test('ids longer than the limit are not remembered; capacity must be positive', () => {
  const log = new AssignmentLog(2);
  log.record('x'.repeat(MAX_LOGGED_ID_LENGTH + 1), a(1));
  assert.equal(log.size, 0);
  log.record('x'.repeat(MAX_LOGGED_ID_LENGTH), a(1));
  assert.equal(log.size, 1);
  assert.throws(() => new AssignmentLog(0), /capacity: must be a positive integer, got 0/);
});
