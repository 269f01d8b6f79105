/**
 * The generic controller: keys from the initial list, the change feed and resyncs; results and
 * errors interpreted in one place (requeue, backoff, terminal); one key never reconciled twice at
 * once; stop aborts in-flight reconciles. Runs on a real SQLite store; delays, backoff and resyncs
 * run on a fake clock (`support/fake-clock.ts`) that the tests advance instead of sleeping.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { sleep } from '../src/controller/clock.js';
import { Controller, type ControllerOptions } from '../src/controller/controller.js';
import { type ReconcileResult, TerminalError } from '../src/controller/reconciler.js';
import { seededStore, type TestStore } from './support/deployment-fixtures.js';
import { eventually } from './support/eventually.js';
import { ManualClock } from './support/fake-clock.js';

let t: TestStore;
before(async () => {
  t = await seededStore();
});
after(() => t.cleanup());

type Behaviour = (key: string, call: number, signal: AbortSignal) => Promise<ReconcileResult>;

function controllerWith(behaviour: Behaviour, overrides: Partial<ControllerOptions> = {}) {
  const calls: string[] = [];
  const terminal: [string, string][] = [];
  const errors: [string | undefined, number | undefined][] = [];
  let active = 0;
  let maxActive = 0;
  const perKey = new Map<string, number>();
  const clock = new ManualClock();
  const controller = new Controller({
    clock,
    name: 'test',
    store: t.store,
    kinds: ['Model'],
    keysOfChange: (c) => [c.key],
    listKeys: () => Promise.resolve(['initial']),
    workers: 4,
    queue: { baseDelayMs: 10, maxDelayMs: 50 },
    reconciler: {
      reconcile: async (key, { signal }) => {
        calls.push(key);
        const n = (perKey.get(key) ?? 0) + 1;
        perKey.set(key, n);
        active++;
        maxActive = Math.max(maxActive, active);
        try {
          return await behaviour(key, n, signal);
        } finally {
          active--;
        }
      },
    },
    onTerminalError: (key, e) => void terminal.push([key, e.message]),
    onError: (key, _e, retry) => void errors.push([key, retry]),
    ...overrides,
  });
  return { controller, clock, calls, terminal, errors, perKey, maxActive: () => maxActive };
}

test('reconciles listed keys on start and keys of store changes', async () => {
  const c = controllerWith(() => Promise.resolve({}));
  await c.controller.start();
  await eventually(() => c.calls.includes('initial'), { timeoutMs: 5_000, message: 'the initial key' });
  await t.store.models.create({ name: 'churn', description: '', labels: {} });
  await eventually(() => c.calls.includes('churn'), { timeoutMs: 5_000, message: 'the changed model key' });
  await c.controller.stop();
});

test('requeueAfterMs runs the key again; plain errors back off; terminal errors are recorded once', async () => {
  const c = controllerWith(
    async (key, call) => {
      if (key === 'poll') return call < 3 ? { requeueAfterMs: 10 } : {};
      if (key === 'flaky') {
        if (call < 3) throw new Error('transient');
        return {};
      }
      if (key === 'broken') throw new TerminalError('cannot ever work');
      return Promise.resolve({});
    },
    { listKeys: () => Promise.resolve(['poll', 'flaky', 'broken']) },
  );
  await c.controller.start();
  await c.clock.advanceUntil(
    () => (c.perKey.get('poll') ?? 0) >= 3 && (c.perKey.get('flaky') ?? 0) >= 3,
    'polling and retries',
  );
  await c.clock.advance(100);
  assert.equal(c.perKey.get('poll'), 3, 'stops polling once it returns {}');
  assert.equal(c.perKey.get('flaky'), 3, 'stops retrying after a success');
  assert.deepEqual(
    c.errors,
    [
      ['flaky', 10],
      ['flaky', 20],
    ],
    'backoff doubles per consecutive failure',
  );
  assert.equal(c.perKey.get('broken'), 1, 'terminal: not retried');
  assert.deepEqual(c.terminal, [['broken', 'cannot ever work']]);
  await c.controller.stop();
});

test('one key is never reconciled concurrently; adds during a reconcile run it once more', async () => {
  const clock = new ManualClock();
  const c = controllerWith(
    async () => {
      await sleep(clock, 30);
      return {};
    },
    { listKeys: () => Promise.resolve([]), clock },
  );
  await c.controller.start();
  for (let i = 0; i < 10; i++) c.controller.enqueue('same');
  await eventually(() => c.perKey.get('same') === 1, { timeoutMs: 5_000, message: 'the first run' });
  await clock.advance(10);
  for (let i = 0; i < 10; i++) c.controller.enqueue('same');
  await clock.advanceUntil(() => c.perKey.get('same') === 2, 'the second run');
  await clock.advance(60);
  assert.equal(c.perKey.get('same'), 2);
  assert.equal(c.maxActive(), 1);
  await c.controller.stop();
});

test('periodic resync lists every key again', async () => {
  const c = controllerWith(() => Promise.resolve({}), { resyncIntervalMs: 30 });
  await c.controller.start();
  await c.clock.advanceUntil(() => (c.perKey.get('initial') ?? 0) >= 3, 'three resyncs', { stepMs: 30 });
  await c.controller.stop();
});

test('stop aborts an in-flight reconcile and waits for it; its error is not retried', async () => {
  let sawAbort = false;
  const clock = new ManualClock();
  const c = controllerWith(
    async (_key, _call, signal) => {
      await sleep(clock, 10_000, signal); // the clock never gets there: only the abort ends it
      sawAbort = signal.aborted;
      throw new Error('aborted');
    },
    { clock },
  );
  await c.controller.start();
  await eventually(() => c.calls.length === 1, { timeoutMs: 5_000, message: 'the reconcile to start' });
  const t0 = Date.now();
  await c.controller.stop();
  assert.ok(Date.now() - t0 < 1_000, 'stop is prompt');
  assert.equal(sawAbort, true);
  assert.deepEqual(c.errors, [], 'an aborted reconcile is not reported as a failure');
});
