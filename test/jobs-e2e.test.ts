/**
 * Batch jobs over a real control plane (SQLite, local batch workers running ONNX Runtime): the
 * create-time checks answer 400 naming the field and write nothing; a job runs to Succeeded with
 * one output row per input row; a cancelled job's worker is gone; retry starts it again; the CLI
 * follows a job with plain lines when stdout is not a terminal.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import type { Job } from '../src/core/resources.js';
import { type E2eControlPlane, startE2eControlPlane } from './support/control-plane-e2e.js';
import { eventually } from './support/eventually.js';
import { writeFeatureCsv } from './support/job-data.js';
import { isAlive, WHARF_BIN } from './support/processes.js';

const run = promisify(execFile);

describe('batch jobs', () => {
  let e2e: E2eControlPlane;
  let csv: string;
  const job = (name: string, extra: Record<string, unknown> = {}) => ({
    name,
    environment: 'staging',
    model: { name: 'risk', version: '1.0.0' },
    input: { url: csv, format: 'csv', idField: 'id' },
    output: { url: join(e2e.home, 'out', `${name}.jsonl`), format: 'jsonl' },
    batchSize: 50,
    ...extra,
  });
  const get = async (name: string) =>
    (await e2e.api(`/api/v1/environments/staging/jobs/${name}`)).body as unknown as Job;
  const until = (name: string, ok: (j: Job) => boolean, what: string) =>
    eventually(
      async () => {
        const j = await get(name);
        return ok(j) ? j : undefined;
      },
      { timeoutMs: 20_000, intervalMs: 100, message: what },
    );

  before(async () => {
    // Slow workers (a latency per run) so the cancel test finds its job running.
    e2e = await startE2eControlPlane('wharf-jobs-', { '1.0.0': {} }, { jobWorkerArgs: ['--inject-latency-ms', '30'] });
    csv = writeFeatureCsv(join(e2e.home, 'in.csv'), 600);
  });
  after(() => e2e?.stop());

  test('refused at create with a 400 naming the field, and nothing written', async () => {
    const narrow = writeFeatureCsv(join(e2e.home, 'narrow.csv'), 3, 15);
    const cases: [Record<string, unknown>, string][] = [
      [job('a', { input: { url: join(e2e.home, 'missing.csv'), format: 'csv' } }), 'input.url'],
      [job('b', { input: { url: narrow, format: 'csv', idField: 'id' } }), 'input.columns'],
      [job('c', { model: { name: 'risk', version: '9.9.9' } }), 'model'],
      [job('d', { errorThreshold: '150%' }), 'errorThreshold'],
      [job('e', { schedule: { cron: '61 * * * *' } }), 'schedule.cron'],
      [job('f', { schedule: { cron: '0 2 * * *', timezone: 'Mars/Olympus' } }), 'schedule.timezone'],
      [job('g', { input: { url: 'relative.csv', format: 'csv' } }), 'input.url'],
    ];
    for (const [body, field] of cases) {
      const r = await e2e.api('/api/v1/jobs', { method: 'POST', json: body });
      const error = r.body.error as { code: string; message: string };
      assert.equal(r.status, 400, `${field}: ${JSON.stringify(r.body)}`);
      assert.match(error.message, new RegExp(`^${field.replace('.', '\\.')}:`), error.message);
    }
    const list = await e2e.api('/api/v1/jobs?environment=staging');
    assert.deepEqual(list.body.items, [], 'no job was written');
  });

  test('a job runs to Succeeded with one output row per input row, in input order', async () => {
    const created = await e2e.api('/api/v1/jobs', { method: 'POST', json: job('score') });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const done = await until(
      'score',
      (j) => j.status.phase === 'Succeeded' || j.status.phase === 'Failed',
      'the job ends',
    );
    assert.equal(done.status.phase, 'Succeeded', done.status.message);
    assert.equal(done.status.rowsDone, 600);
    assert.equal(done.status.rowsFailed, 0);
    assert.equal(done.status.attempts, 1);
    const lines = readFileSync(done.status.output!, 'utf8').trim().split('\n');
    assert.equal(lines.length, 600);
    assert.match(lines[0]!, /row-0/);
    assert.match(lines[599]!, /row-599/);
  });

  test('cancel stops the worker; retry starts it again in a new generation; the CLI cancels with --wait, exit 1', async () => {
    // Long enough (5000 rows, 10 per run of 30 ms or more) that it is still running when cancelled.
    const big = writeFeatureCsv(join(e2e.home, 'big.csv'), 5000);
    const body = job('stopme', { batchSize: 10, concurrency: 1, input: { url: big, format: 'csv', idField: 'id' } });
    await e2e.api('/api/v1/jobs', { method: 'POST', json: body });
    await until('stopme', (j) => j.status.phase === 'Running' && j.status.attempts === 1, 'the job runs');
    const workerFile = join(e2e.home, 'jobs', 'staging', 'stopme', '1', 'worker.json');
    const { pid } = (await eventually(
      () => {
        try {
          return JSON.parse(readFileSync(workerFile, 'utf8')) as { pid: number };
        } catch {
          return undefined;
        }
      },
      { timeoutMs: 10_000, message: 'the worker records its pid' },
    )) as { pid: number };
    const cancelled = await e2e.api('/api/v1/environments/staging/jobs/stopme/cancel', { method: 'POST' });
    assert.equal(cancelled.status, 200);
    const ended = await until('stopme', (j) => j.status.phase === 'Cancelled', 'the job is cancelled');
    assert.ok(ended.status.finishedAt !== undefined, 'a cancelled job has ended');
    assert.equal(isAlive(pid), false, 'the worker is gone');
    const again = await e2e.api('/api/v1/environments/staging/jobs/stopme/retry', { method: 'POST', json: {} });
    assert.equal(again.status, 200, JSON.stringify(again.body));
    assert.equal((again.body as unknown as Job).generation, 2);
    const wrongPhase = await e2e.api('/api/v1/environments/staging/jobs/stopme/retry', { method: 'POST', json: {} });
    assert.equal(wrongPhase.status, 409, 'only a failed or cancelled job is retried');
    const { stdout } = await run(process.execPath, [WHARF_BIN, 'job', 'cancel', 'stopme', '-e', 'staging', '--wait'], {
      env: { ...process.env, ...e2e.cliEnv() },
    }).catch((e: { stdout: string; code: number }) => {
      assert.equal(e.code, 1, 'a cancelled job exits 1');
      return e;
    });
    assert.match(stdout, /Cancelled/);
  });

  test('the CLI creates a job from flags and follows it with plain lines, exit 0 when it succeeded', async () => {
    const { stdout } = await run(
      process.execPath,
      [
        WHARF_BIN,
        'job',
        'create',
        'cli-job',
        '-e',
        'staging',
        '--model',
        'risk',
        '--version',
        '1.0.0',
        '--input',
        csv,
        '--id-field',
        'id',
        '--output',
        join(e2e.home, 'out', 'cli.csv'),
        '--wait',
      ],
      { env: { ...process.env, ...e2e.cliEnv() } },
    );
    assert.match(stdout, /Running \d+(\/600)? rows/);
    assert.match(stdout, /staging\/cli-job: Succeeded/);
    const { stdout: list } = await run(process.execPath, [WHARF_BIN, 'job', 'list', '-e', 'staging'], {
      env: { ...process.env, ...e2e.cliEnv() },
    });
    assert.match(list, /cli-job\s+Succeeded\s+600\/600/);
  });
});
