/**
 * Exactly once per row across crashes: a job's worker is killed with SIGKILL mid-job, and then the
 * control plane (`wharf up`) too; after a restart on the same home the job ends Succeeded, and
 * its output is byte for byte the output of the same job run without interruption. Nothing is
 * left running after the control plane stops.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { promisify } from 'node:util';
import type { Job } from '../src/core/resources.js';
import { writeDemoModels } from '../src/demo/write-demo-models.js';
import { pidsWithArg } from './support/process-scan.js';
import {
  adminAuth,
  adminTokenOf,
  isAlive,
  startWharf,
  WHARF_BIN,
  type WharfProcess,
  untilWharfUp,
} from './support/processes.js';
import { freePort } from './support/ports.js';
import { eventually } from './support/eventually.js';
import { writeFeatureCsv } from './support/job-data.js';

const run = promisify(execFile);
const home = mkdtempSync(join(tmpdir(), 'wharf-job-resume-'));
const started: WharfProcess[] = [];
after(() => {
  for (const p of started) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
  for (const pid of pidsWithArg(home)) process.kill(pid, 'SIGKILL');
  rmSync(home, { recursive: true, force: true });
});

test('kill -9 of a worker and of the control plane mid-job: the output equals an uninterrupted run', async () => {
  const [apiPort, gwPort] = [await freePort(), await freePort()];
  const api = `http://127.0.0.1:${apiPort}`;
  const upArgs = ['up', '--home', home, '--port', String(apiPort), '--gateway-port', String(gwPort), '--no-demo'];
  // Small parts and a latency per run: about 10 batches of 20 rows a second, so there is a middle to kill in.
  const env = { WHARF_TEST_JOB_WORKER_ARGS: '--part-rows 100 --inject-latency-ms 100' };
  const startUp = async (): Promise<WharfProcess> => {
    const up = startWharf(upArgs, env);
    started.push(up);
    await untilWharfUp(up);
    return up;
  };
  const get = async (name: string): Promise<Job> =>
    (
      await fetch(`${api}/api/v1/environments/staging/jobs/${name}`, { headers: adminAuth(home) })
    ).json() as Promise<Job>;
  const until = (name: string, ok: (j: Job) => boolean, what: string, timeoutMs = 25_000) =>
    eventually(
      async () => {
        const j = await get(name).catch(() => undefined);
        return j !== undefined && ok(j) ? j : undefined;
      },
      { timeoutMs, intervalMs: 100, message: what },
    );
  const create = async (name: string): Promise<void> => {
    const r = await fetch(`${api}/api/v1/jobs`, {
      method: 'POST',
      headers: { ...adminAuth(home), 'content-type': 'application/json' },
      body: JSON.stringify({
        name,
        environment: 'staging',
        model: { name: 'risk', version: '1.0.0' },
        input: { url: csv, format: 'csv', idField: 'id' },
        output: { url: join(home, `${name}.jsonl`), format: 'jsonl', joinColumns: ['f0'] },
        batchSize: 20,
        concurrency: 2,
      }),
    });
    assert.equal(r.status, 201, await r.text());
  };
  const csv = writeFeatureCsv(join(home, 'in.csv'), 3000);
  const modelFile = (await writeDemoModels(join(home, 'src-models'))).readmission;

  let up = await startUp();
  await run(process.execPath, [WHARF_BIN, 'model', 'push', 'risk', modelFile, '--version', '1.0.0'], {
    env: { ...process.env, WHARF_URL: api, WHARF_TOKEN: adminTokenOf(home) },
  });
  await create('reference');
  await create('crashy');

  // 1. The worker dies mid-job: the controller launches it again on the same work directory.
  const workerOf = (): number =>
    (JSON.parse(readFileSync(join(home, 'jobs', 'staging', 'crashy', '1', 'worker.json'), 'utf8')) as { pid: number })
      .pid;
  const before = await until('crashy', (j) => j.status.rowsDone >= 400, 'the job is under way');
  assert.ok(before.status.rowsDone < 3000, 'killed in the middle');
  const first = workerOf();
  process.kill(first, 'SIGKILL');
  const resumed = await until('crashy', (j) => j.status.attempts >= 2 && j.status.phase === 'Running', 'a new worker');
  assert.notEqual(workerOf(), first);

  // 2. The control plane dies too; its successor adopts the running worker (or launches one).
  await until('crashy', (j) => j.status.rowsDone > resumed.status.rowsDone + 200, 'the new worker makes progress');
  up.child.kill('SIGKILL');
  await up.exited;
  up = await startUp();

  const [ref, crashy] = [
    await until('reference', (j) => j.status.phase === 'Succeeded', 'the reference run succeeds', 60_000),
    await until('crashy', (j) => j.status.phase !== 'Running' && j.status.phase !== 'Pending', 'the job ends', 60_000),
  ];
  assert.equal(crashy.status.phase, 'Succeeded', crashy.status.message);
  assert.equal(crashy.status.rowsDone, 3000);
  const expected = readFileSync(ref.status.output!, 'utf8');
  assert.equal(expected.trim().split('\n').length, 3000);
  assert.ok(readFileSync(crashy.status.output!, 'utf8') === expected, 'no row lost, duplicated or reordered');

  up.child.kill('SIGTERM');
  await up.exited;
  assert.deepEqual(pidsWithArg(home), [], 'no worker outlives the control plane');
  assert.equal(isAlive(first), false);
});
