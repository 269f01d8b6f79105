/**
 * Fixtures for the batch engine's tests: the readmission demo model on disk with its digest, seeded
 * input rows, task files, and `wharf job-worker` as a real child process.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BatchTask } from '../../src/protocol/batch-task.js';
import { createRandom } from '../../src/demo/random.js';
import { writeDemoModels } from '../../src/demo/write-demo-models.js';
import { startWharf, type WharfProcess } from './processes.js';

/** A temp directory with the demo models written in it. */
export interface BatchFixture {
  readonly dir: string;
  readonly readmission: { readonly path: string; readonly digest: string };
}

/** Writes the demo models into a fresh temp directory. */
export async function batchFixture(): Promise<BatchFixture> {
  const dir = await mkdtemp(join(tmpdir(), 'wharf-batch-'));
  const models = await writeDemoModels(join(dir, 'models'));
  const digest = 'sha256:' + createHash('sha256').update(readFileSync(models.readmission)).digest('hex');
  return { dir, readmission: { path: models.readmission, digest } };
}

/** `n` seeded rows of 16 features (the readmission model's width). */
export function featureRows(n: number, seed = 1, width = 16): number[][] {
  const rng = createRandom(seed);
  return Array.from({ length: n }, () => Array.from({ length: width }, () => Number(rng.normal().toFixed(6))));
}

/** A task for the readmission model with defaults a test overrides. */
export function readmissionTask(
  fx: BatchFixture,
  name: string,
  overrides: Partial<BatchTask> & Pick<BatchTask, 'input' | 'output'>,
): BatchTask {
  return {
    jobId: name,
    model: { name: 'readmission', version: '1.0.0', artifactPath: fx.readmission.path, digest: fx.readmission.digest },
    batchSize: 32,
    concurrency: 2,
    errorThreshold: { percent: 50 },
    batchTimeoutMs: 10_000,
    retries: 1,
    workDir: join(fx.dir, name, 'work'),
    ...overrides,
  };
}

/** Writes `task` to `<dir>/<jobId>.task.json` and returns the path. */
export async function writeTaskFile(fx: BatchFixture, task: BatchTask | Record<string, unknown>): Promise<string> {
  const path = join(fx.dir, `${String(task.jobId)}.task.json`);
  await writeFile(path, JSON.stringify(task));
  return path;
}

/** Starts `wharf job-worker --task FILE ...args`. */
export function startWorker(taskFile: string, args: readonly string[] = []): WharfProcess {
  return startWharf(['job-worker', '--task', taskFile, ...args]);
}

/** Runs a worker to its end: exit code and stderr. */
export async function runWorkerProcess(
  taskFile: string,
  args: readonly string[] = [],
): Promise<{ code: number | string; stderr: string }> {
  const p = startWorker(taskFile, args);
  const code = await p.exited;
  return { code, stderr: p.stderr() };
}
