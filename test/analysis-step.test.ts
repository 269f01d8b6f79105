// The analysis step against the built-in metrics source fed by synthetic gateway snapshots (real
// TargetStats counting): a healthy, a failing, a slow and a quiet canary under the built-in
// templates, measurement errors, and windows that never reach back before the run's start.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  type AnalysisRunState,
  type AnalysisTemplate,
  BUILTIN_ANALYSIS_TEMPLATES,
  newAnalysisRun,
  type ResolvedAnalysis,
  resolveAnalysis,
} from '../src/core/analysis/index.js';
import { advanceAnalysis } from '../src/controller/reconcilers/analysis-step.js';
import { BuiltinMetricsSource, type Refreshable } from '../src/metrics/builtin-source.js';
import type { MetricsSource } from '../src/metrics/metrics-source.js';
import { FakeClock, SyntheticGateway } from './support/metrics.js';

const TARGET = { environment: 'production', deployment: 'risk', revision: 4 };

/** A gateway, a built-in source over it, and a loop that plays traffic second by second. */
function setup() {
  const clock = new FakeClock(Date.parse('2026-01-01T00:00:00.000Z'));
  const gateway = new SyntheticGateway(clock.read);
  const source = new BuiltinMetricsSource({ providers: [gateway.snapshot], clock: clock.read });
  /**
   * Runs the analysis from now for up to `seconds`, calling `traffic` before each second passes,
   * advancing in 250 ms steps (the source's default sampling) and stopping when the run ends.
   */
  const play = async (
    resolved: ResolvedAnalysis,
    seconds: number,
    traffic: (second: number) => void,
    src: MetricsSource = source,
  ) => {
    await source.sampleNow();
    let run = newAnalysisRun(resolved, new Date(clock.now));
    const phases: string[] = [];
    for (let step = 0; step < seconds * 4 && run.phase === 'running'; step++) {
      if (step % 4 === 0) traffic(step / 4);
      clock.advance(250);
      const before = JSON.stringify(run.metrics);
      run = await advanceAnalysis(run, resolved, src, new Date(clock.now));
      if (JSON.stringify(run.metrics) !== before) phases.push(`${(step + 1) / 4}s ${run.phase}`);
    }
    return { run, phases };
  };
  return { clock, gateway, source, play };
}

const lastMessage = (run: AnalysisRunState, metric: string) => run.metrics[metric]!.measurements.at(-1)?.message;

describe('advanceAnalysis with the built-in source', () => {
  test('a healthy canary passes the default template after 10 measurements, one per second', async () => {
    const { gateway, play } = setup();
    const resolved = resolveAnalysis(BUILTIN_ANALYSIS_TEMPLATES.default, [], TARGET);
    const { run, phases } = await play(resolved, 20, () => gateway.record(4, 100, 200, 0.02));
    assert.equal(run.phase, 'successful', run.message);
    assert.equal(phases.length, 10);
    assert.equal(phases.at(-1), '10s successful');
    assert.equal(
      run.message,
      'every metric passed: success-rate: 10/10 measurements successful; latency-p99: 10/10 measurements successful',
    );
    assert.equal(lastMessage(run, 'success-rate'), 'success-rate 1 >= min 0.99 (revision 4, 500 requests in 5 s)');
    assert.match(
      lastMessage(run, 'latency-p99')!,
      /^latency-p99 0\.02485 <= max 0\.5 \(revision 4, 500 requests in 5 s\)$/,
    );
  });

  test('a failing canary fails at the first measurement, one second in, with the figures', async () => {
    const { gateway, play } = setup();
    const resolved = resolveAnalysis(BUILTIN_ANALYSIS_TEMPLATES.default, [], TARGET);
    const { run, phases } = await play(resolved, 20, () => {
      gateway.record(4, 70);
      gateway.record(4, 30, 503);
      gateway.record(3, 400); // the stable revision is fine and does not count
    });
    assert.deepEqual(phases, ['1s failed']);
    assert.equal(run.phase, 'failed');
    assert.equal(run.message, 'success-rate 0.7 < min 0.99 (revision 4, 100 requests in 1 s)');
    assert.equal(run.metrics['success-rate']!.failed, 1);
  });

  test('a slow canary fails latency-p99 with the args given by the step', async () => {
    const { gateway, play } = setup();
    const resolved = resolveAnalysis(BUILTIN_ANALYSIS_TEMPLATES['latency-p99'], [{ name: 'max', value: 0.25 }], TARGET);
    let second = 0;
    const { run } = await play(resolved, 20, (s) => {
      second = s;
      gateway.record(4, 50, 200, s < 3 ? 0.01 : 0.4); // slows down from the fourth second
    });
    assert.equal(run.phase, 'failed');
    assert.match(run.message!, /^latency-p99 0\.\d+ > max 0\.25 \(revision 4, 200 requests in 4 s\)$/);
    assert.equal(run.metrics['latency-p99']!.successful, 3);
    assert.equal(second, 3);
  });

  test('a canary with too little traffic pauses the rollout (inconclusive)', async () => {
    const { gateway, play } = setup();
    const resolved = resolveAnalysis(BUILTIN_ANALYSIS_TEMPLATES['success-rate'], [], TARGET);
    const { run, phases } = await play(resolved, 20, () => gateway.record(4, 1));
    assert.equal(run.phase, 'inconclusive');
    assert.deepEqual(phases, ['1s running', '2s running', '3s running', '4s inconclusive']);
    assert.equal(
      run.message,
      'success-rate: 4 inconclusive measurements > inconclusiveLimit 3; last: success-rate: too few requests, 4 < minSamples 10 (revision 4, 4 requests in 4 s)',
    );
  });

  test('bad traffic from before the run started does not count', async () => {
    const { gateway, source, play, clock } = setup();
    await source.sampleNow();
    gateway.record(4, 100, 500); // an earlier, aborted attempt
    clock.advance(1000);
    const resolved = resolveAnalysis(BUILTIN_ANALYSIS_TEMPLATES['success-rate'], [], TARGET);
    const { run } = await play(resolved, 20, () => gateway.record(4, 100));
    assert.equal(run.phase, 'successful', run.message);
    assert.equal(run.metrics['success-rate']!.failed, 0);
  });

  test('a PromQL metric on a source without Prometheus: errors, then the run is in error', async () => {
    const { gateway, play } = setup();
    const template: AnalysisTemplate = {
      name: 'promql',
      metrics: [
        {
          name: 'errors',
          provider: { prometheus: { query: 'sum(rate(x{revision="{{revision}}"}[1m]))' } },
          successCondition: { max: 1 },
        },
      ],
    };
    const { run, phases } = await play(resolveAnalysis(template, [], TARGET), 20, () => gateway.record(4, 100));
    assert.deepEqual(phases, ['1s running', '2s running', '3s error']);
    assert.equal(run.metrics.errors!.errors, 3);
    assert.equal(
      lastMessage(run, 'errors'),
      'errors: no Prometheus configured (the builtin metrics source cannot run PromQL)',
    );
    assert.equal(
      run.message,
      'errors: 3 measurement errors in a row; last: errors: no Prometheus configured (the builtin metrics source cannot run PromQL)',
    );
  });

  test('a source that throws is recorded as a measurement error, and a recovery resets the streak', async () => {
    const { gateway, source, play } = setup();
    let failing = 2;
    // The built-in source with one failure injected in front of it: the step must not throw.
    const flaky: MetricsSource & Refreshable = {
      name: 'flaky',
      sampleNow: () => source.sampleNow(),
      revision: (w) => (failing-- > 0 ? Promise.reject(new Error('gateway unreachable')) : source.revision(w)),
      shadow: (w) => source.shadow(w),
    };
    const resolved = resolveAnalysis(BUILTIN_ANALYSIS_TEMPLATES['success-rate'], [], TARGET);
    const { run } = await play(resolved, 30, () => gateway.record(4, 100), flaky);
    assert.equal(run.phase, 'successful', run.message);
    const s = run.metrics['success-rate']!;
    assert.deepEqual([s.count, s.errors, s.successful], [12, 2, 10]);
  });

  test('nothing is due: the same state comes back', async () => {
    const { source, clock } = setup();
    const resolved = resolveAnalysis(BUILTIN_ANALYSIS_TEMPLATES.default, [], TARGET);
    const run = newAnalysisRun(resolved, new Date(clock.now));
    assert.equal(await advanceAnalysis(run, resolved, source, new Date(clock.now + 500)), run);
  });
});
