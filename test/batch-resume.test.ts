/**
 * Exactly once per row across crashes: a worker killed with SIGKILL at random moments, and started
 * again on the same work directory each time, leaves the same output bytes (and error file) as a run
 * that was never interrupted.
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { createRandom } from '../src/demo/random.js';
import { readCheckpoint } from '../src/batch/checkpoint.js';
import { eventually } from './support/eventually.js';
import { batchFixture, featureRows, readmissionTask, startWorker, writeTaskFile } from './support/batch.js';

test('kill -9 at random points, restart, repeat: byte-for-byte the output of an uninterrupted run', async () => {
  const fx = await batchFixture();
  const rows = featureRows(3000, 21).map((r, i) =>
    i % 97 === 5 ? 'broken' : JSON.stringify({ n: i, inputs: { input: r } }),
  );
  const input = join(fx.dir, 'in.jsonl');
  await writeFile(input, rows.join('\n') + '\n');
  const task = (name: string) =>
    readmissionTask(fx, name, {
      input: { url: input, format: 'jsonl', idField: 'n' },
      output: { url: join(fx.dir, name, 'out.jsonl'), format: 'jsonl' },
      batchSize: 10,
      concurrency: 3,
    });
  const args = ['--part-rows', '40'];
  const clean = task('clean');
  const first = startWorker(await writeTaskFile(fx, clean), args);
  assert.equal(await first.exited, 0, first.stderr());

  const crashed = task('crashed');
  const file = await writeTaskFile(fx, crashed);
  // Slow runs so that a kill lands mid-job; the latency does not change what is written.
  const slow = [...args, '--inject-latency-ms', '15'];
  const rng = createRandom(99);
  let parts = 0;
  for (let kill = 0; kill < 4; kill++) {
    const w = startWorker(file, slow);
    // Wait for progress past the last kill (so each restart resumes), then kill at a random moment.
    await eventually(async () => ((await readCheckpoint(crashed.workDir))?.partsDone ?? 0) > parts, {
      timeoutMs: 15_000,
      message: () => `worker ${kill} made no progress: ${w.stderr()}`,
    });
    await new Promise((r) => setTimeout(r, rng.int(150)));
    w.child.kill('SIGKILL');
    assert.equal(await w.exited, 'SIGKILL', `worker ${kill} ended before the kill: ${w.stderr()}`);
    parts = (await readCheckpoint(crashed.workDir))?.partsDone ?? 0;
  }
  const last = startWorker(file, args);
  assert.equal(await last.exited, 0, last.stderr());
  assert.match(last.stderr(), /resuming after part \d+/);

  const [a, b] = await Promise.all([readFile(clean.output.url), readFile(crashed.output.url)]);
  assert.equal(a.toString().split('\n').length - 1, 3000 - 31);
  assert.ok(a.equals(b), 'the resumed output differs from the clean one');
  const [ea, eb] = await Promise.all([
    readFile(join(clean.workDir, 'errors.jsonl')),
    readFile(join(crashed.workDir, 'errors.jsonl')),
  ]);
  assert.ok(ea.equals(eb), 'the resumed error file differs from the clean one');
});
