/**
 * Batch benchmark (issue 16): one million seeded rows of the readmission model and of the MLP demo
 * model, JSON Lines in and out, measured in the same run:
 * (a) the Wharf batch worker end to end (`wharf job-worker`, a process, wall time);
 * (b) the physical limit: ONNX Runtime in process on the same batches, no I/O;
 * (c) the peers: scikit-learn predict_proba in the seed stack's Python on the same file, and the
 *     model server over HTTP at 16 connections (wrk, one row per request).
 * Then the worker's peak RSS on a 1 GB input file. Prints a table and the targets: (a) ≥ 0.7×(b),
 * (a) ≥ 5× each (c), peak RSS ≤ 300 MB.
 *
 * Run: `npm run bench:batch`. Environment: BENCH_ROWS (default 1000000), BENCH_MLP_ROWS (default
 * BENCH_ROWS), BENCH_RSS_BYTES (default 1 GiB), BENCH_BATCH (1024), BENCH_CONCURRENCY (CPUs),
 * BENCH_DURATION (wrk seconds, 10s), WHARF_BASELINES_DIR (the seed stack).
 */
import { rmSync } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createHash } from 'node:crypto';
import type { BatchTask } from '../src/protocol/batch-task.js';
import { featureBatches, writeFeatureFile } from './lib/batch-data.js';
import { modelServerHttp, ortInProcess, runWorker, sklearnOnFile } from './lib/batch-peers.js';
import {
  ensureDebianPackages,
  locateSeedStack,
  mlpSampleBody,
  trainBaseline,
  writeDemoModels,
} from './lib/fixtures.js';
import { installCleanupHandlers, stopAll } from './lib/processes.js';
import { machineInfo, writeResults } from './lib/results-file.js';
import { runMain } from './lib/run-main.js';
import { formatRate, formatRatio, formatTable } from './lib/table.js';
import { check, formatChecks, ratio, type Check } from './lib/verdicts.js';
import { durationFromEnv } from './lib/wrk.js';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const log = (line: string): void => void process.stderr.write(line + '\n');
const intEnv = (name: string, fallback: number): number => {
  const v = Number(process.env[name] ?? fallback);
  if (!Number.isSafeInteger(v) || v <= 0) throw new Error(`${name} must be a positive integer`);
  return v;
};

interface ModelFigures {
  model: string;
  rows: number;
  worker?: number;
  ort?: number;
  sklearn?: number;
  http?: number;
  errors: string[];
}

async function digestOf(path: string): Promise<string> {
  return (
    'sha256:' +
    createHash('sha256')
      .update(await readFile(path))
      .digest('hex')
  );
}

async function main(): Promise<number> {
  installCleanupHandlers();
  const startedAt = new Date();
  const machine = machineInfo();
  const rowsReadmission = intEnv('BENCH_ROWS', 1_000_000);
  const rowsMlp = intEnv('BENCH_MLP_ROWS', rowsReadmission);
  const rssBytes = intEnv('BENCH_RSS_BYTES', 1024 ** 3);
  const batchSize = intEnv('BENCH_BATCH', 1024);
  const concurrency = intEnv('BENCH_CONCURRENCY', cpus().length);
  const duration = durationFromEnv('BENCH_DURATION', '10s');
  await ensureDebianPackages(repoRoot);
  const work = await mkdtemp(join(tmpdir(), 'wharf-bench-batch-'));
  process.once('exit', () => rmSync(work, { recursive: true, force: true }));
  try {
    // The readmission model of the seed stack: model.pkl for scikit-learn, model.onnx (same weights) for Wharf.
    const baseline = await trainBaseline(locateSeedStack(repoRoot), join(work, 'baseline'));
    const demo = await writeDemoModels(repoRoot, join(work, 'models'));
    const models = [
      {
        model: 'readmission',
        onnx: baseline.modelOnnx,
        peer: baseline.modelPkl,
        width: 16,
        rows: rowsReadmission,
        body: baseline.sampleV2Body,
      },
      { model: 'mlp', onnx: demo.mlp, peer: demo.mlp, width: 256, rows: rowsMlp, body: mlpSampleBody() },
    ];
    const task = (name: string, onnx: string, digest: string, input: string): BatchTask => ({
      jobId: name,
      model: { name, version: '1', artifactPath: onnx, digest },
      input: { url: input, format: 'jsonl' },
      output: { url: join(work, `${name}.out.jsonl`), format: 'jsonl' },
      batchSize,
      concurrency,
      errorThreshold: { count: 0 },
      batchTimeoutMs: 600_000,
      retries: 0,
      workDir: join(work, `${name}.work`),
    });
    const figures: ModelFigures[] = [];
    for (const m of models) {
      const f: ModelFigures = { model: m.model, rows: m.rows, errors: [] };
      figures.push(f);
      const input = join(work, `${m.model}.jsonl`);
      const written = await writeFeatureFile(input, { rows: m.rows, width: m.width, seed: 5 });
      log(`\n${m.model}: ${m.rows} rows, ${(written.bytes / 1e6).toFixed(0)} MB of JSON Lines`);
      const attempt = async (what: string, run: () => Promise<number>): Promise<number | undefined> => {
        try {
          const v = await run();
          log(`  ${what}: ${formatRate(v)} rows/s`);
          return v;
        } catch (err) {
          f.errors.push(`${what}: ${(err as Error).message.split('\n')[0]}`);
          log(`  ${what} failed: ${(err as Error).message}`);
          return undefined;
        }
      };
      f.worker = await attempt('(a) Wharf worker', async () => {
        const t = task(m.model, m.onnx, await digestOf(m.onnx), input);
        const file = join(work, `${m.model}.task.json`);
        await writeFile(file, JSON.stringify(t));
        const r = await runWorker(repoRoot, file);
        if (r.code !== 0) throw new Error(`worker exited ${r.code}: ${r.stderr}`);
        return m.rows / r.seconds;
      });
      f.ort = await attempt('(b) ONNX Runtime in process', () =>
        ortInProcess(
          m.onnx,
          featureBatches({ rows: m.rows, width: m.width, seed: 5, batchSize }),
          m.width,
          concurrency,
        ),
      );
      f.sklearn = await attempt('(c) scikit-learn predict_proba', async () => {
        const r = await sklearnOnFile(repoRoot, m.peer, input, join(work, `${m.model}.sklearn.jsonl`), batchSize);
        return r.rowsPerSecond;
      });
      f.http = await attempt('(c) model server over HTTP, 16 connections', () =>
        modelServerHttp(repoRoot, {
          model: m.onnx,
          name: m.model,
          body: m.body,
          connections: 16,
          duration,
          scriptDir: work,
        }),
      );
      rmSync(input, { force: true });
      rmSync(join(work, `${m.model}.out.jsonl`), { force: true });
      rmSync(join(work, `${m.model}.work`), { recursive: true, force: true });
    }

    // Peak RSS on a large input: readmission rows up to rssBytes.
    const big = join(work, 'big.jsonl');
    const bigFile = await writeFeatureFile(big, {
      rows: Number.MAX_SAFE_INTEGER,
      width: 16,
      seed: 9,
      maxBytes: rssBytes,
    });
    log(`\nRSS: ${bigFile.rows} rows, ${(bigFile.bytes / 1e9).toFixed(2)} GB`);
    const bigTask = task('big', baseline.modelOnnx, await digestOf(baseline.modelOnnx), big);
    await writeFile(join(work, 'big.task.json'), JSON.stringify(bigTask));
    const bigRun = await runWorker(repoRoot, join(work, 'big.task.json'));
    const peakMb = bigRun.peakRssBytes / 1e6;
    log(`  worker exited ${bigRun.code} in ${bigRun.seconds.toFixed(1)} s, peak RSS ${peakMb.toFixed(0)} MB`);

    const rows = figures.map((f) => [
      f.model,
      f.rows.toLocaleString('en-US'),
      formatRate(f.worker),
      formatRate(f.ort),
      formatRate(f.sklearn),
      formatRate(f.http),
      formatRatio(ratio(f.worker, f.ort)),
      formatRatio(ratio(f.worker, f.sklearn)),
      formatRatio(ratio(f.worker, f.http)),
    ]);
    const checks: Check[] = figures.flatMap((f) => [
      check(`${f.model}: (a)/(b) worker vs ORT in process`, '>=', 0.7, ratio(f.worker, f.ort)),
      check(`${f.model}: (a)/(c) worker vs scikit-learn`, '>=', 5, ratio(f.worker, f.sklearn)),
      check(`${f.model}: (a)/(c) worker vs model server over HTTP`, '>=', 5, ratio(f.worker, f.http)),
    ]);
    checks.push(check(`peak RSS (MB) on a ${(bigFile.bytes / 1e9).toFixed(2)} GB input`, '<=', 300, peakMb));
    process.stdout.write(
      `\nBatch benchmark: JSON Lines in and out, batch ${batchSize}, concurrency ${concurrency}; ${machine.cpus} CPUs, load ${machine.loadAverage1m.toFixed(2)} at start\n`,
    );
    if (machine.loadAverage1m >= 1) process.stdout.write('WARNING: other work was running; figures are noisy\n');
    const headers = [
      'model',
      'rows',
      '(a) worker',
      '(b) ORT',
      '(c) sklearn',
      '(c) HTTP c16',
      'a/b',
      'a/sklearn',
      'a/HTTP',
    ];
    process.stdout.write(
      `\nrows per second\n${formatTable(headers, rows, ['left', ...Array<'right'>(8).fill('right')])}\n`,
    );
    process.stdout.write(`\nTargets\n${formatChecks(checks)}\n`);
    // formatChecks prints the RSS in ratio style ("×"); say what it is.
    process.stdout.write(`(peak RSS: ${peakMb.toFixed(0)} MB, worker exit ${bigRun.code}, ${bigFile.rows} rows)\n`);
    const failed = figures.flatMap((f) => f.errors);
    for (const e of failed) process.stdout.write(`ERROR ${e}\n`);
    const path = await writeResults(repoRoot, 'batch', {
      benchmark: 'batch',
      startedAt: startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
      machine,
      config: { rowsReadmission, rowsMlp, rssBytes, batchSize, concurrency, duration },
      figures,
      rss: { bytes: bigFile.bytes, rows: bigFile.rows, peakRssBytes: bigRun.peakRssBytes, code: bigRun.code },
      checks,
    });
    process.stdout.write(`\nresults: ${path}\n`);
    return failed.length > 0 || bigRun.code !== 0 ? 1 : 0;
  } finally {
    await stopAll();
  }
}

runMain('batch', main);
