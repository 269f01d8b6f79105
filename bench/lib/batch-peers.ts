/**
 * What the batch benchmark measures: the Wharf worker as a process (wall time and peak RSS sampled
 * from /proc), ONNX Runtime in process on the same batches with no I/O, scikit-learn in the seed
 * stack's Python on the same file, and the model server over HTTP (wrk, one row per request).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { loadBatchModel } from '../../src/batch/model.js';
import { SYSTEM_PYTHON } from './fixtures.js';
import { runCommand, spawnTracked, startServer } from './processes.js';
import { runWrk, writePostScript } from './wrk.js';

/** A worker run: wall seconds, exit code, the largest resident set seen (bytes), its stderr. */
export interface WorkerRun {
  seconds: number;
  code: number | null;
  peakRssBytes: number;
  stderr: string;
}

/** Reads VmHWM (peak resident set so far) of `pid` in bytes; 0 once the process is gone. */
async function peakRss(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  const kb = /VmHWM:\s+(\d+) kB/.exec(status)?.[1];
  return kb === undefined ? 0 : Number(kb) * 1024;
}

/** Runs `wharf job-worker --task FILE`, sampling its peak RSS every 50 ms. */
export async function runWorker(repoRoot: string, taskFile: string): Promise<WorkerRun> {
  const started = performance.now();
  const child = spawnTracked(process.execPath, [join(repoRoot, 'bin/wharf.js'), 'job-worker', '--task', taskFile]);
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  child.stdout?.resume();
  let peak = 0;
  const timer = setInterval(() => {
    void peakRss(child.pid!).then((b) => (peak = Math.max(peak, b)));
  }, 50);
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  clearInterval(timer);
  return { seconds: (performance.now() - started) / 1000, code, peakRssBytes: peak, stderr };
}

/** ONNX Runtime on `batches` with `concurrency` runs in flight, as the worker runs them: rows per second. */
export async function ortInProcess(
  modelPath: string,
  batches: readonly Float32Array[],
  width: number,
  concurrency: number,
): Promise<number> {
  const model = await loadBatchModel(modelPath);
  try {
    const rows = batches.reduce((n, b) => n + b.length / width, 0);
    await model.run(batches[0]!.length / width, [batches[0]!]); // warm-up
    const started = performance.now();
    let next = 0;
    const lane = async (): Promise<void> => {
      while (next < batches.length) {
        const b = batches[next++]!;
        await model.run(b.length / width, [b]);
      }
    };
    await Promise.all(Array.from({ length: concurrency }, lane));
    return rows / ((performance.now() - started) / 1000);
  } finally {
    await model.release();
  }
}

/** scikit-learn's predict_proba over the file (bench/batch_sklearn.py): rows per second of the whole process. */
export async function sklearnOnFile(
  repoRoot: string,
  model: string,
  input: string,
  output: string,
  batchSize: number,
): Promise<{ rowsPerSecond: number; rows: number }> {
  const started = performance.now();
  const script = join(repoRoot, 'bench', 'batch_sklearn.py');
  const result = await runCommand(SYSTEM_PYTHON, [script, model, input, output, String(batchSize)]);
  const seconds = (performance.now() - started) / 1000;
  if (result.code !== 0) throw new Error(`batch_sklearn.py exited with ${result.code}: ${result.stderr.slice(-2000)}`);
  const rows = Number(result.stdout.trim().split(/\s+/)[0]);
  return { rowsPerSecond: rows / seconds, rows };
}

/** The model server (batching on) under wrk at `connections`, one row per request: rows per second. */
export async function modelServerHttp(
  repoRoot: string,
  opts: { model: string; name: string; body: string; connections: number; duration: string; scriptDir: string },
): Promise<number> {
  const server = await startServer({
    name: `serve-model ${opts.name}`,
    command: process.execPath,
    args: [join(repoRoot, 'bin/wharf.js'), 'serve-model', '--model', opts.model, '--name', opts.name, '--port', '0'],
    cwd: repoRoot,
    readyPath: '/v2/health/ready',
  });
  try {
    const scriptPath = await writePostScript(opts.scriptDir, `batch-${opts.name}`, opts.body);
    const url = `${server.url}/v2/models/${opts.name}/infer`;
    await runWrk({ url, scriptPath, connections: opts.connections, duration: '2s' }); // warm-up
    const r = await runWrk({ url, scriptPath, connections: opts.connections, duration: opts.duration });
    return r.requestsPerSec;
  } finally {
    await server.stop();
  }
}
