/**
 * Serving benchmark: Wharf's model server against the FastAPI + scikit-learn baseline and a bare
 * `node:http` ceiling (and, as a diagnostic, bare node:http plus one ONNX Runtime run per request), on loopback, same weights, same single-row body; then adaptive batching on a
 * heavier MLP. Prints one table, the stated targets as PASS/MISS, and writes var/bench/serving-*.json.
 *
 * Run: `npm run bench:serving`. Environment:
 * - BENCH_DURATION   measured seconds per run (default 10s; wrk syntax: 10s, 1m)
 * - BENCH_WARMUP     unmeasured warm-up before each run (default 2s)
 * - WHARF_BASELINES_DIR  where the seed-stack baseline lives (default ../shared/baselines beside the repo)
 * - BENCH_WHARF_ARGS extra flags for the batching Wharf servers, e.g. `--max-batch-size 32`
 *
 * Exits 0 when everything ran (a MISS is a result); 1 when a target could not be started or verified.
 */
import { rmSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  ensureDebianPackages,
  locateSeedStack,
  mlpSampleBody,
  trainBaseline,
  wharfServeModelAvailable,
  writeDemoModels,
} from './lib/fixtures.js';
import { measureTarget, type MeasureOptions, type TargetReport } from './lib/measure.js';
import { installCleanupHandlers, stopAll } from './lib/processes.js';
import { machineInfo, writeResults } from './lib/results-file.js';
import { otherRatios, resultsTable, servingChecks } from './lib/serving-report.js';
import {
  baselineTarget,
  ceilingResponseBody,
  ceilingTarget,
  ortPerRequestTarget,
  wharfTarget,
  type Target,
} from './lib/targets.js';
import { formatChecks } from './lib/verdicts.js';
import { durationFromEnv, wrkVersion } from './lib/wrk.js';
import { runMain } from './lib/run-main.js';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const ceilingScript = fileURLToPath(new URL('./lib/fixed-response-server.js', import.meta.url));
const ortScript = fileURLToPath(new URL('./lib/ort-per-request-server.js', import.meta.url));
const CONCURRENCIES = [1, 16, 64];
const MLP_CONCURRENCIES = [1, 64];
/** Both stacks compute a float32 logistic regression; more than this apart means different weights or a bug. */
const TOLERANCE = 1e-5;

const log = (line: string): void => void process.stderr.write(line + '\n');

/** A report for a target that never started, so the table and the exit code show it. */
function notRun(target: Pick<Target, 'id' | 'label'>, error: string): TargetReport {
  return { id: target.id, label: target.label, runs: [], error };
}

async function main(): Promise<number> {
  installCleanupHandlers();
  const startedAt = new Date();
  const machine = machineInfo();
  const duration = durationFromEnv('BENCH_DURATION', '10s');
  const warmup = durationFromEnv('BENCH_WARMUP', '2s');
  const wharfArgs = (process.env.BENCH_WHARF_ARGS ?? '').split(/\s+/).filter(Boolean);

  await ensureDebianPackages(repoRoot);
  const work = await mkdtemp(join(tmpdir(), 'wharf-bench-'));
  // On 'exit' rather than in `finally`, so a Ctrl-C (which exits from its signal handler) removes it too.
  process.once('exit', () => rmSync(work, { recursive: true, force: true }));
  try {
    const fixture = await trainBaseline(locateSeedStack(repoRoot), join(work, 'baseline'));
    log(`baseline trained in ${work}; train.py's probability for the sample row: ${fixture.trainedProbability}`);
    const base = { scriptDir: work, duration, warmup, tolerance: TOLERANCE, log };
    const measure = (
      target: Target,
      concurrencies: number[],
      reference: MeasureOptions['reference'],
    ): Promise<TargetReport> => {
      log(`\n${target.label}`);
      return measureTarget(target, { ...base, concurrencies, reference });
    };
    const reports: TargetReport[] = [];

    const trained = { value: fixture.trainedProbability, from: "train.py's predict_proba" };
    const c = await measure(baselineTarget(fixture), CONCURRENCIES, () => trained);
    reports.push(c);
    // Every other target must give what the running baseline gave (train.py's value if it did not run).
    const expected = c.verification?.ok ? { value: c.verification.value, from: 'baseline (c)' } : trained;
    const ceiling = ceilingTarget(
      ceilingScript,
      fixture.sampleV2Body,
      ceilingResponseBody('readmission', expected.value),
    );
    reports.push(await measure(ceiling, CONCURRENCIES, () => expected));
    reports.push(
      await measure(
        ortPerRequestTarget(ortScript, fixture.modelOnnx, fixture.sampleV2Body),
        CONCURRENCIES,
        () => expected,
      ),
    );

    const wharf = (
      id: string,
      label: string,
      model: string,
      batching: boolean,
      body: string,
      outputName: string,
      name: string,
    ): Target =>
      wharfTarget({
        id,
        label,
        repoRoot,
        model,
        name,
        batching,
        body,
        outputName,
        extraArgs: batching ? wharfArgs : [],
      });
    const a = wharf(
      'a',
      '(a) Wharf, batching off',
      fixture.modelOnnx,
      false,
      fixture.sampleV2Body,
      'probability',
      'readmission',
    );
    const b = wharf(
      'b',
      '(b) Wharf, batching on',
      fixture.modelOnnx,
      true,
      fixture.sampleV2Body,
      'probability',
      'readmission',
    );
    if (await wharfServeModelAvailable(repoRoot)) {
      reports.push(await measure(a, CONCURRENCIES, () => expected), await measure(b, CONCURRENCIES, () => expected));
    } else {
      const why = '`node bin/wharf.js serve-model --help` failed: the model server is not built yet';
      reports.push(notRun(a, why), notRun(b, why));
    }

    const mlpBody = mlpSampleBody();
    const mlpLabels = { off: 'MLP, Wharf batching off', on: 'MLP, Wharf batching on' };
    try {
      const models = await writeDemoModels(repoRoot, join(work, 'models'));
      const off = await measure(
        wharf('mlp-off', mlpLabels.off, models.mlp, false, mlpBody, 'score', 'mlp'),
        MLP_CONCURRENCIES,
        () => undefined,
      );
      const offValue = off.verification?.ok ? { value: off.verification.value, from: 'batching off' } : undefined;
      // Batching must not change the answer: compare with the unbatched server's score.
      const on = await measure(
        wharf('mlp-on', mlpLabels.on, models.mlp, true, mlpBody, 'score', 'mlp'),
        MLP_CONCURRENCIES,
        () => offValue,
      );
      reports.push(off, on);
    } catch (err) {
      const why = `demo models unavailable: ${(err as Error).message}`;
      reports.push(
        notRun({ id: 'mlp-off', label: mlpLabels.off }, why),
        notRun({ id: 'mlp-on', label: mlpLabels.on }, why),
      );
    }

    const checks = servingChecks(reports);
    const failed = reports.filter((r) => r.error !== undefined);
    const setting = `wrk -t1, ${duration} per run after ${warmup} warm-up, 127.0.0.1, one row per request`;
    process.stdout.write(
      `\nServing benchmark: ${setting}; ${machine.cpus} CPUs, load ${machine.loadAverage1m.toFixed(2)} at start\n`,
    );
    // Server and wrk each need a whole core; at load >= 1 something else competes for one and every figure wobbles.
    if (machine.loadAverage1m >= 1)
      process.stdout.write('WARNING: other work was running when the benchmark started; figures are noisy\n');
    process.stdout.write('\n');
    process.stdout.write(`${resultsTable(reports)}\n\n${otherRatios(reports)}\n\nTargets\n${formatChecks(checks)}\n`);
    for (const r of failed) process.stdout.write(`\nERROR ${r.label}: ${r.error}\n`);

    const path = await writeResults(
      repoRoot,
      'serving',
      {
        benchmark: 'serving',
        startedAt: startedAt.toISOString(),
        finishedAt: new Date().toISOString(),
        machine,
        wrk: await wrkVersion(),
        config: {
          duration,
          warmup,
          concurrencies: CONCURRENCIES,
          mlpConcurrencies: MLP_CONCURRENCIES,
          tolerance: TOLERANCE,
          wharfArgs,
        },
        targets: reports,
        checks,
      },
      startedAt,
    );
    process.stdout.write(`\nresults: ${path}\n`);
    return failed.length > 0 ? 1 : 0;
  } finally {
    await stopAll();
  }
}

runMain('serving', main);
