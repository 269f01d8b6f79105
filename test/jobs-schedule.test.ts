/**
 * Scheduled jobs, with time driven by a manual clock (no sleeping) over a real SQLite store: a
 * slot in the template's time zone makes one run; slots missed while the control plane was down
 * make one run, not one per slot; Forbid skips a slot while a run is active, Replace cancels the
 * active run; historyLimit keeps that many finished runs.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { JobReconciler } from '../src/controller/reconcilers/job-reconciler.js';
import type { ConcurrencyPolicy, Job } from '../src/core/resources.js';
import type { BatchRuntime } from '../src/runtime/batch-runtime.js';
import { ensureEnvironments } from '../src/server/environments.js';
import { listAll } from '../src/services/store-pages.js';
import { openStore } from '../src/store/open-store.js';
import type { Store } from '../src/store/store.js';
import { ManualClock } from './support/fake-clock.js';

let home: string;
let store: Store;
before(async () => {
  home = await mkdtemp(join(tmpdir(), 'wharf-job-schedule-'));
  store = await openStore({ home });
  await ensureEnvironments(store);
  await store.models.create({ name: 'risk', description: '', labels: {} });
  await store.modelVersions.create({
    model: 'risk',
    version: '1.0.0',
    artifact: { digest: `sha256:${'a'.repeat(64)}`, size: 1, filename: 'risk.onnx' },
    signature: { inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, 16] }], outputs: [] },
    labels: {},
    createdAt: '2026-01-01T00:00:00Z',
  });
});
after(async () => {
  await store?.close();
  await rm(home, { recursive: true, force: true });
});

/** Templates never launch workers: a batch runtime that refuses proves it. */
const noWorkers: BatchRuntime = {
  launch: () => Promise.reject(new Error('a template launched a worker')),
  observe: () => Promise.resolve({ state: 'gone' }),
  stop: () => Promise.resolve(),
  logs: () => Promise.resolve(''),
  close: () => Promise.resolve(),
};

async function template(name: string, concurrencyPolicy: ConcurrencyPolicy, historyLimit = 3): Promise<Job> {
  return store.jobs.create({
    name,
    environment: 'staging',
    spec: {
      model: { name: 'risk', version: '1.0.0' },
      input: { url: '/data/in.csv', format: 'csv' },
      output: { url: '/data/out.jsonl', format: 'jsonl' },
      batchSize: 10,
      concurrency: 1,
      errorThreshold: 0,
      timeoutSeconds: 60,
      retries: 0,
      // 02:00 in Berlin is 01:00 UTC in winter.
      schedule: { cron: '0 2 * * *', timezone: 'Europe/Berlin', concurrencyPolicy, historyLimit },
    },
    generation: 1,
    status: { phase: 'Pending', rowsDone: 0, rowsFailed: 0, rowsPerSecond: 0, attempts: 0 },
    createdAt: '2026-01-01T00:00:00.000Z',
    createdBy: 'test',
  });
}

const runsOf = async (name: string) =>
  (await listAll(store.jobs, { environment: 'staging', scheduledBy: name })).sort((a, b) =>
    a.scheduledFor!.localeCompare(b.scheduledFor!),
  );

async function finish(job: Job): Promise<void> {
  const current = await store.jobs.get({ environment: job.environment, name: job.name });
  await store.jobs.update({ ...current, status: { ...current.status, phase: 'Succeeded' } });
}

test('one run per slot in the time zone; missed slots make one run; Forbid skips while a run is active', async () => {
  const clock = new ManualClock(Date.parse('2026-01-01T00:30:00Z'));
  const r = new JobReconciler({ store, batch: noWorkers, workRoot: home, artifactPath: () => '', clock });
  await template('nightly', 'Forbid', 2);
  const first = await r.reconcile('staging/nightly');
  assert.deepEqual(await runsOf('nightly'), [], 'no slot has come yet');
  assert.equal(
    (await store.jobs.get({ environment: 'staging', name: 'nightly' })).status.nextScheduleTime,
    '2026-01-01T01:00:00.000Z',
  );
  assert.equal(first.requeueAfterMs, 30 * 60_000, 'woken at the next slot');

  // Down for three nights and a half: one run for the latest slot.
  await clock.advance(Date.parse('2026-01-04T05:00:00Z') - clock.now());
  await r.reconcile('staging/nightly');
  let runs = await runsOf('nightly');
  assert.equal(runs.length, 1, 'one run, not one per missed slot');
  assert.equal(runs[0]!.scheduledFor, '2026-01-04T01:00:00.000Z');
  assert.equal(runs[0]!.resolved?.version, '1.0.0');
  assert.equal(runs[0]!.spec.schedule, undefined, 'a run is not a template');
  await r.reconcile('staging/nightly');
  assert.equal((await runsOf('nightly')).length, 1, 'reconciling again makes nothing more');

  // The next night while the run is still active: Forbid skips the slot.
  await clock.advance(24 * 3_600_000);
  await r.reconcile('staging/nightly');
  assert.equal((await runsOf('nightly')).length, 1);
  const skipped = await store.jobs.get({ environment: 'staging', name: 'nightly' });
  assert.match(skipped.status.message ?? '', /skipped the run at 2026-01-05T01:00:00.000Z/);
  assert.deepEqual(skipped.status.active, [runs[0]!.name]);

  // Runs that finish: the next nights make runs, and only two finished ones are kept.
  for (let night = 0; night < 3; night++) {
    for (const run of await runsOf('nightly')) await finish(run);
    await clock.advance(24 * 3_600_000);
    await r.reconcile('staging/nightly');
  }
  runs = await runsOf('nightly');
  assert.deepEqual(
    runs.map((j) => j.scheduledFor),
    ['2026-01-06T01:00:00.000Z', '2026-01-07T01:00:00.000Z', '2026-01-08T01:00:00.000Z'],
    'two finished runs kept, and the active one',
  );
});

test('Replace cancels the active run when the next slot comes', async () => {
  const clock = new ManualClock(Date.parse('2026-01-01T01:00:00Z'));
  const r = new JobReconciler({ store, batch: noWorkers, workRoot: home, artifactPath: () => '', clock });
  await template('replaced', 'Replace');
  await r.reconcile('staging/replaced');
  const [first] = await runsOf('replaced');
  assert.ok(first !== undefined, 'a run at the slot itself');
  await clock.advance(24 * 3_600_000);
  await r.reconcile('staging/replaced');
  const runs = await runsOf('replaced');
  assert.equal(runs.length, 2);
  assert.equal(runs[0]!.cancelRequested, true, 'the active run is cancelled');
  assert.equal(runs[1]!.cancelRequested, undefined);
});
