// Analysis runs: evaluate() for every kind of value, and a table of measurement sequences for
// every phase rule (failure limit, consecutive errors, inconclusive limit and handling, count,
// several metrics), plus scheduling (due metrics, windows) and the stored state's size.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  type AnalysisRunState,
  type AnalysisTemplate,
  dueMetrics,
  evaluate,
  MAX_KEPT_MEASUREMENTS,
  type Measurement,
  measurementWindowMs,
  newAnalysisRun,
  nextMeasurementAt,
  recordMeasurement,
  type ResolvedAnalysis,
  type ResolvedMetric,
  resolveAnalysis,
} from '../src/core/analysis/index.js';

const T0 = new Date('2026-01-01T00:00:00.000Z');
const at = (s: number) => new Date(T0.getTime() + s * 1000);
const TARGET = { environment: 'production', deployment: 'risk', revision: 4 };

function metric(overrides: Partial<ResolvedMetric> = {}): ResolvedMetric {
  return {
    name: 'success-rate',
    provider: { kind: 'builtin', metric: 'success-rate', windowSeconds: 5 },
    min: 0.99,
    intervalSeconds: 1,
    count: 10,
    failureLimit: 0,
    inconclusiveLimit: 3,
    minSamples: 10,
    onInconclusive: 'pause',
    ...overrides,
  };
}

function analysis(...metrics: ResolvedMetric[]): ResolvedAnalysis {
  return { template: 'default', target: TARGET, metrics };
}

describe('evaluate', () => {
  const cases: {
    name: string;
    metric: ResolvedMetric;
    value: number | undefined;
    samples?: Parameters<typeof evaluate>[2];
    expect: Omit<Measurement, 'at'>;
  }[] = [
    {
      name: 'below min fails, with the value, the condition and the traffic',
      metric: metric(),
      value: 0.62,
      samples: { revision: 4, requests: 57, windowMs: 5000 },
      expect: {
        value: 0.62,
        phase: 'failed',
        message: 'success-rate 0.62 < min 0.99 (revision 4, 57 requests in 5 s)',
      },
    },
    {
      name: 'at min passes',
      metric: metric(),
      value: 0.99,
      samples: { revision: 4, requests: 100, windowMs: 1250 },
      expect: {
        value: 0.99,
        phase: 'successful',
        message: 'success-rate 0.99 >= min 0.99 (revision 4, 100 requests in 1.25 s)',
      },
    },
    {
      name: 'above max fails',
      metric: metric({ name: 'latency-p99', min: undefined, max: 0.5 }),
      value: 0.81234,
      samples: { revision: 4, requests: 40 },
      expect: { value: 0.81234, phase: 'failed', message: 'latency-p99 0.8123 > max 0.5 (revision 4, 40 requests)' },
    },
    {
      name: 'at or under max passes',
      metric: metric({ name: 'latency-p99', min: undefined, max: 0.5 }),
      value: 0.5,
      expect: { value: 0.5, phase: 'successful', message: 'latency-p99 0.5 <= max 0.5' },
    },
    {
      name: 'within both bounds',
      metric: metric({ name: 'rate', min: 10, max: 20 }),
      value: 15,
      samples: { revision: 4 },
      expect: { value: 15, phase: 'successful', message: 'rate 15 within [10, 20] (revision 4)' },
    },
    {
      name: 'too few requests is inconclusive, even with a good value',
      metric: metric(),
      value: 1,
      samples: { revision: 4, requests: 3, windowMs: 1000 },
      expect: {
        value: 1,
        phase: 'inconclusive',
        message: 'success-rate: too few requests, 3 < minSamples 10 (revision 4, 3 requests in 1 s)',
      },
    },
    {
      name: 'too few requests is inconclusive, even with a bad value',
      metric: metric(),
      value: 0,
      samples: { requests: 1 },
      expect: {
        value: 0,
        phase: 'inconclusive',
        message: 'success-rate: too few requests, 1 < minSamples 10 (1 request)',
      },
    },
    {
      name: 'minSamples 0 judges any count',
      metric: metric({ minSamples: 0 }),
      value: 0,
      samples: { requests: 1 },
      expect: { value: 0, phase: 'failed', message: 'success-rate 0 < min 0.99 (1 request)' },
    },
    {
      name: 'no value is inconclusive',
      metric: metric({ provider: { kind: 'prometheus', query: 'x' }, minSamples: 0 }),
      value: undefined,
      samples: { revision: 4 },
      expect: { phase: 'inconclusive', message: 'success-rate: no data (revision 4)' },
    },
    {
      name: 'NaN is no data',
      metric: metric({ minSamples: 0 }),
      value: NaN,
      expect: { phase: 'inconclusive', message: 'success-rate: no data' },
    },
  ];
  for (const c of cases) test(c.name, () => assert.deepEqual(evaluate(c.metric, c.value, c.samples), c.expect));
});

/** A measurement of a phase at second `s`. */
const m = (phase: Measurement['phase'], s: number, message: string = phase): Measurement => ({
  at: at(s).toISOString(),
  phase,
  message,
  ...(phase === 'error' ? {} : { value: 1 }),
});

/** Records `phases` (one per second) for the metrics of `resolved`, in order, from a fresh run. */
function play(resolved: ResolvedAnalysis, sequence: [string, Measurement['phase']][]): AnalysisRunState {
  let run = newAnalysisRun(resolved, T0);
  sequence.forEach(([name, phase], i) => {
    run = recordMeasurement(run, resolved, name, m(phase, i + 1, `${name} ${phase} #${i + 1}`));
  });
  return run;
}

const S = 'success-rate';
const rep = (n: number, phase: Measurement['phase'], name = S): [string, Measurement['phase']][] =>
  Array.from({ length: n }, () => [name, phase]);

describe('phase rules', () => {
  const cases: {
    name: string;
    resolved: ResolvedAnalysis;
    sequence: [string, Measurement['phase']][];
    phase: AnalysisRunState['phase'];
    message?: string | RegExp;
  }[] = [
    { name: 'fresh run is running', resolved: analysis(metric()), sequence: [], phase: 'running' },
    {
      name: 'successes below the count keep running',
      resolved: analysis(metric()),
      sequence: rep(9, 'successful'),
      phase: 'running',
      message: 'success-rate successful #9',
    },
    {
      name: 'count successes: successful',
      resolved: analysis(metric()),
      sequence: rep(10, 'successful'),
      phase: 'successful',
      message: 'every metric passed: success-rate: 10/10 measurements successful',
    },
    {
      name: 'failureLimit 0: the first failure fails the run with its message',
      resolved: analysis(metric()),
      sequence: [...rep(3, 'successful'), [S, 'failed']],
      phase: 'failed',
      message: 'success-rate failed #4',
    },
    {
      name: 'failures up to the limit are tolerated',
      resolved: analysis(metric({ failureLimit: 2 })),
      sequence: [
        [S, 'failed'],
        [S, 'successful'],
        [S, 'failed'],
      ],
      phase: 'running',
    },
    {
      name: 'one failure past the limit fails, saying how many',
      resolved: analysis(metric({ failureLimit: 2 })),
      sequence: [
        [S, 'failed'],
        [S, 'failed'],
        [S, 'successful'],
        [S, 'failed'],
      ],
      phase: 'failed',
      message: 'success-rate: 3 failed measurements > failureLimit 2; last: success-rate failed #4',
    },
    {
      name: 'tolerated failures still let the metric pass at its count',
      resolved: analysis(metric({ count: 3, failureLimit: 1 })),
      sequence: [
        [S, 'failed'],
        [S, 'successful'],
        [S, 'successful'],
      ],
      phase: 'successful',
    },
    {
      name: 'two errors in a row are not yet an error',
      resolved: analysis(metric()),
      sequence: rep(2, 'error'),
      phase: 'running',
      message: 'success-rate error #2',
    },
    {
      name: 'three errors in a row: error',
      resolved: analysis(metric()),
      sequence: [[S, 'successful'], ...rep(3, 'error')],
      phase: 'error',
      message: 'success-rate: 3 measurement errors in a row; last: success-rate error #4',
    },
    {
      name: 'errors broken by a measurement start over',
      resolved: analysis(metric()),
      sequence: [...rep(2, 'error'), [S, 'successful'], ...rep(2, 'error')],
      phase: 'running',
    },
    {
      name: 'errors do not count toward count',
      resolved: analysis(metric({ count: 2 })),
      sequence: [
        [S, 'successful'],
        [S, 'error'],
        [S, 'error'],
      ],
      phase: 'running',
    },
    {
      name: 'inconclusive up to the limit keeps running',
      resolved: analysis(metric()),
      sequence: rep(3, 'inconclusive'),
      phase: 'running',
    },
    {
      name: 'inconclusive past the limit pauses (onInconclusive pause)',
      resolved: analysis(metric()),
      sequence: rep(4, 'inconclusive'),
      phase: 'inconclusive',
      message: 'success-rate: 4 inconclusive measurements > inconclusiveLimit 3; last: success-rate inconclusive #4',
    },
    {
      name: 'inconclusive past the limit fails with onInconclusive fail',
      resolved: analysis(metric({ onInconclusive: 'fail', inconclusiveLimit: 0 })),
      sequence: [[S, 'inconclusive']],
      phase: 'failed',
      message:
        'success-rate: 1 inconclusive measurements > inconclusiveLimit 0; last: success-rate inconclusive #1 (onInconclusive: fail)',
    },
    {
      name: 'inconclusive past the limit passes with onInconclusive pass',
      resolved: analysis(metric({ onInconclusive: 'pass', inconclusiveLimit: 0 })),
      sequence: [[S, 'inconclusive']],
      phase: 'successful',
      message:
        /^every metric passed: success-rate: 1 inconclusive measurements > inconclusiveLimit 0; .* \(onInconclusive: pass\)$/,
    },
    {
      name: 'inconclusive within the limit count toward count',
      resolved: analysis(metric({ count: 4 })),
      sequence: [...rep(3, 'inconclusive'), [S, 'successful']],
      phase: 'successful',
      message: 'every metric passed: success-rate: 1/4 measurements successful',
    },
    {
      name: 'count reached with no success is inconclusive',
      resolved: analysis(metric({ count: 2, inconclusiveLimit: 5 })),
      sequence: rep(2, 'inconclusive'),
      phase: 'inconclusive',
      message: 'success-rate: no successful measurement in 2; last: success-rate inconclusive #2',
    },
    {
      name: 'an inconclusive metric ends the run: a later failure is not recorded',
      resolved: analysis(metric({ name: 'a', inconclusiveLimit: 0 }), metric({ name: 'b' })),
      sequence: [
        ['a', 'inconclusive'],
        ['b', 'failed'],
      ],
      phase: 'inconclusive',
      message: /^a: 1 inconclusive/,
    },
    {
      name: 'several metrics: successful only when every one is',
      resolved: analysis(metric({ name: 'a', count: 2 }), metric({ name: 'b', count: 3 })),
      sequence: [
        ['a', 'successful'],
        ['b', 'successful'],
        ['a', 'successful'],
        ['b', 'successful'],
      ],
      phase: 'running',
    },
    {
      name: 'several metrics: all done',
      resolved: analysis(metric({ name: 'a', count: 1 }), metric({ name: 'b', count: 2 })),
      sequence: [
        ['a', 'successful'],
        ['b', 'successful'],
        ['b', 'successful'],
      ],
      phase: 'successful',
      message: 'every metric passed: a: 1/1 measurements successful; b: 2/2 measurements successful',
    },
    {
      name: 'several metrics: one failing fails the run',
      resolved: analysis(metric({ name: 'a' }), metric({ name: 'b', failureLimit: 1 })),
      sequence: [
        ['a', 'successful'],
        ['b', 'failed'],
        ['a', 'successful'],
        ['b', 'failed'],
      ],
      phase: 'failed',
      message: /^b: 2 failed measurements > failureLimit 1/,
    },
    {
      name: 'a finished run takes no more measurements',
      resolved: analysis(metric()),
      sequence: [
        [S, 'failed'],
        [S, 'successful'],
        [S, 'successful'],
      ],
      phase: 'failed',
      message: 'success-rate failed #1',
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const run = play(c.resolved, c.sequence);
      assert.equal(run.phase, c.phase, run.message);
      if (c.message instanceof RegExp) assert.match(run.message ?? '', c.message);
      else if (c.message !== undefined) assert.equal(run.message, c.message);
    });
  }

  test('counters and a bounded list of measurements', () => {
    const resolved = analysis(metric({ count: 100, failureLimit: 50, inconclusiveLimit: 50 }));
    const run = play(resolved, [
      ...rep(20, 'successful'),
      ...rep(5, 'failed'),
      ...rep(4, 'inconclusive'),
      ...rep(2, 'error'),
    ]);
    const s = run.metrics[S]!;
    assert.deepEqual([s.count, s.successful, s.failed, s.inconclusive, s.errors], [31, 20, 5, 4, 2]);
    assert.equal(s.measurements.length, MAX_KEPT_MEASUREMENTS);
    assert.equal(s.measurements.at(-1)!.message, 'success-rate error #31');
    assert.ok(JSON.stringify(run).length < 3000, `stored run is ${JSON.stringify(run).length} bytes`);
  });

  test('recordMeasurement does not change its input', () => {
    const resolved = analysis(metric());
    const run = newAnalysisRun(resolved, T0);
    const copy = structuredClone(run);
    recordMeasurement(run, resolved, S, m('failed', 1));
    assert.deepEqual(run, copy);
  });

  test('an unknown metric is a programming error', () => {
    const resolved = analysis(metric());
    assert.throws(
      () => recordMeasurement(newAnalysisRun(resolved, T0), resolved, 'nope', m('successful', 1)),
      /has no metric 'nope'/,
    );
  });
});

describe('scheduling', () => {
  const resolved = analysis(
    metric({ name: 'fast', intervalSeconds: 1 }),
    metric({ name: 'slow', intervalSeconds: 5, provider: { kind: 'prometheus', query: 'x' }, minSamples: 0 }),
  );

  test('the first measurement falls due one interval after the start, then one interval after the last', () => {
    let run = newAnalysisRun(resolved, T0);
    assert.deepEqual(
      dueMetrics(run, resolved, at(0.5)).map((x) => x.name),
      [],
    );
    assert.equal(nextMeasurementAt(run, resolved)?.toISOString(), at(1).toISOString());
    assert.deepEqual(
      dueMetrics(run, resolved, at(1)).map((x) => x.name),
      ['fast'],
    );
    run = recordMeasurement(run, resolved, 'fast', m('successful', 1.2));
    assert.deepEqual(
      dueMetrics(run, resolved, at(2)).map((x) => x.name),
      [],
    );
    assert.equal(nextMeasurementAt(run, resolved)?.toISOString(), at(2.2).toISOString());
    assert.deepEqual(
      dueMetrics(run, resolved, at(5)).map((x) => x.name),
      ['fast', 'slow'],
    );
  });

  test('a metric that is done is no longer due; a finished run has nothing due', () => {
    const one = analysis(metric({ name: 'a', count: 1 }), metric({ name: 'b', count: 2 }));
    let run = recordMeasurement(newAnalysisRun(one, T0), one, 'a', m('successful', 1));
    assert.deepEqual(
      dueMetrics(run, one, at(10)).map((x) => x.name),
      ['b'],
    );
    run = recordMeasurement(run, one, 'b', m('failed', 2));
    assert.equal(run.phase, 'failed');
    assert.deepEqual(dueMetrics(run, one, at(10)), []);
    assert.equal(nextMeasurementAt(run, one), undefined);
  });

  test('the built-in window never reaches back before the start, unless asked not to clip', () => {
    const run = newAnalysisRun(resolved, T0);
    const fast = resolved.metrics[0]!;
    assert.equal(measurementWindowMs(run, fast, at(1)), 1000);
    assert.equal(measurementWindowMs(run, fast, at(3.5)), 3500);
    assert.equal(measurementWindowMs(run, fast, at(60)), 5000);
    assert.equal(measurementWindowMs(run, fast, at(1), false), 5000, 'unclipped for sources with coarse history');
    assert.equal(measurementWindowMs(run, resolved.metrics[1]!, at(60)), 0, 'PromQL metrics have no built-in window');
  });

  test('a resolved template works end to end with newAnalysisRun', () => {
    const template: AnalysisTemplate = {
      name: 't',
      metrics: [
        { name: 'p50', provider: { builtin: { metric: 'latency-p50' } }, successCondition: { max: 0.1 }, count: 1 },
      ],
    };
    const r = resolveAnalysis(template, [], TARGET);
    const run = recordMeasurement(newAnalysisRun(r, T0), r, 'p50', {
      at: at(1).toISOString(),
      ...evaluate(r.metrics[0]!, 0.02, { requests: 50 }),
    });
    assert.equal(run.phase, 'successful');
  });
});
