// The built-in metrics source over synthetic gateways that count with the real TargetStats: window
// selection, short history, restarts, several gateways, failing providers, retention, the timer.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BuiltinMetricsSource } from '../src/metrics/builtin-source.js';
import type { RevisionWindow } from '../src/metrics/metrics-source.js';
import { FakeClock, shadowCounters, SyntheticGateway } from './support/metrics.js';
import { eventually, letTimePass } from './support/eventually.js';

const W = (windowMs: number, revision = 2): RevisionWindow => ({
  environment: 'production',
  deployment: 'risk',
  revision,
  windowMs,
});

function setup(
  gateways = 1,
  options: { retentionMs?: number; fullResolutionMs?: number; coarseResolutionMs?: number } = {},
) {
  const clock = new FakeClock();
  const gws = Array.from({ length: gateways }, () => new SyntheticGateway(clock.read));
  const errors: [string, number][] = [];
  const source = new BuiltinMetricsSource({
    providers: gws.map((g) => g.snapshot),
    clock: clock.read,
    onError: (e, i) => errors.push([e.message, i]),
    ...options,
  });
  /** Advances the clock by `ms` and samples. */
  const tick = async (ms = 1000) => {
    clock.advance(ms);
    await source.sampleNow();
  };
  return { clock, gws, source, errors, tick };
}

describe('window queries', () => {
  test('the window starts at the sample at or just before now − window', async () => {
    const {
      gws: [g],
      source,
      tick,
    } = setup();
    await source.sampleNow(); // t = 0
    for (let s = 1; s <= 10; s++) {
      g!.record(2, 10 * s); // 10, 20, … 100 responses during second s
      await tick(1000);
    }
    // Window 3 s: samples at t=7,8,9,10 → the last three seconds: 80 + 90 + 100.
    let m = await source.revision(W(3000));
    assert.equal(m.requests, 270);
    assert.equal(m.coveredMs, 3000);
    assert.equal(m.requestRate, 90);
    // Window 2.5 s: the sample just before t=7.5 is t=7, so the same three seconds.
    m = await source.revision(W(2500));
    assert.equal(m.requests, 270);
    assert.equal(m.coveredMs, 3000);
  });

  test('history shorter than the window: everything since the first sample, and coveredMs says how much', async () => {
    const {
      gws: [g],
      source,
      tick,
    } = setup();
    g!.record(2, 500); // before the source started: not in any window
    await source.sampleNow();
    g!.record(2, 30);
    g!.record(2, 10, 500);
    await tick(2000);
    const m = await source.revision(W(60_000));
    assert.equal(m.requests, 40);
    assert.equal(m.errors, 10);
    assert.equal(m.successRate, 0.75);
    assert.equal(m.coveredMs, 2000);
    assert.equal(m.requestRate, 20);
  });

  test('a single sample covers nothing yet', async () => {
    const {
      gws: [g],
      source,
    } = setup();
    g!.record(2, 100);
    await source.sampleNow();
    const m = await source.revision(W(5000));
    assert.equal(m.requests, 0);
    assert.equal(m.coveredMs, 0);
    assert.equal(m.successRate, undefined);
    assert.equal(m.p99, undefined);
  });

  test('latency quantiles come from the window, not from older traffic', async () => {
    const {
      gws: [g],
      source,
      tick,
    } = setup();
    await source.sampleNow();
    g!.record(2, 100, 200, 2); // slow, long ago
    await tick(10_000);
    g!.record(2, 98, 200, 0.004); // the window: all in (0.0025, 0.005]
    g!.record(2, 2, 200, 0.04); //  two in (0.025, 0.05]
    await tick(1000);
    const m = await source.revision(W(1000));
    assert.equal(m.requests, 100);
    assert.ok(Math.abs(m.p50! - (0.0025 + 0.0025 * (50 / 98))) < 1e-12, `p50 ${m.p50}`);
    assert.ok(Math.abs(m.p99! - (0.025 + 0.025 * (1 / 2))) < 1e-12, `p99 ${m.p99}`);
  });

  test('a scraped gateway that had no traffic yet (no histogram series, so no bounds) does not blind the latency figures', async () => {
    const clock = new FakeClock();
    const g = new SyntheticGateway(clock.read);
    // What scraping an idle gateway's /metrics gives: the histogram family has no series to read bounds from.
    let idle = true;
    const source = new BuiltinMetricsSource({
      providers: [() => (idle ? { ...g.snapshot(), latencyBuckets: [] } : g.snapshot())],
      clock: clock.read,
    });
    await source.sampleNow();
    idle = false;
    g.record(2, 10, 200, 0.004);
    clock.advance(1000);
    await source.sampleNow();
    g.record(2, 10, 200, 0.004);
    clock.advance(1000);
    await source.sampleNow();
    const m = await source.revision(W(5000));
    assert.equal(m.requests, 20);
    assert.ok(m.p50 !== undefined && m.p50 > 0.0025 && m.p50 <= 0.005, `p50 ${m.p50}`);
    const traffic = await source.deployment({ environment: 'production', deployment: 'risk', windowMs: 5000 });
    assert.ok(Math.abs(traffic.concurrency - (20 * 0.004) / 2) < 1e-9, `concurrency ${traffic.concurrency}`);
  });

  test('only the asked revision, deployment and environment count', async () => {
    const {
      gws: [g],
      source,
      tick,
    } = setup();
    await source.sampleNow();
    g!.record(2, 5);
    g!.record(1, 7);
    g!.record(2, 11, 200, 0.003, 'staging');
    g!.record(2, 13, 200, 0.003, 'production', 'other');
    await tick();
    assert.equal((await source.revision(W(5000, 2))).requests, 5);
    assert.equal((await source.revision(W(5000, 1))).requests, 7);
    assert.equal((await source.revision(W(5000, 3))).requests, 0);
  });

  test('a revision that appears between samples counts from zero', async () => {
    const {
      gws: [g],
      source,
      tick,
    } = setup();
    g!.record(1, 50);
    await source.sampleNow();
    g!.record(2, 8); // revision 2 enters the table now
    await tick();
    assert.equal((await source.revision(W(5000))).requests, 8);
  });
});

describe('restarts and several gateways', () => {
  test('a gateway restart inside the window counts from zero', async () => {
    const {
      gws: [g],
      source,
      tick,
    } = setup();
    await source.sampleNow();
    g!.record(2, 100);
    await tick();
    g!.restart();
    g!.record(2, 30);
    await tick();
    g!.record(2, 90); // now 120 > 100: the ends alone would hide the restart
    await tick();
    const m = await source.revision(W(10_000));
    assert.equal(m.requests, 100 + 30 + 90);
  });

  test('two gateways are summed, and one restarting does not disturb the other', async () => {
    const {
      gws: [a, b],
      source,
      tick,
    } = setup(2);
    await source.sampleNow();
    a!.record(2, 40);
    b!.record(2, 60, 503);
    await tick();
    b!.restart();
    b!.record(2, 5);
    a!.record(2, 10);
    await tick();
    const m = await source.revision(W(10_000));
    assert.equal(m.requests, 40 + 60 + 5 + 10);
    assert.equal(m.errors, 60);
  });

  test('a failing gateway is reported and skipped; the others still count', async () => {
    const {
      gws: [a, b],
      source,
      tick,
      errors,
    } = setup(2);
    await source.sampleNow();
    a!.record(2, 10);
    b!.record(2, 20);
    b!.failWith = new Error('connection refused');
    await tick();
    assert.deepEqual(errors, [['connection refused', 1]]);
    assert.equal(source.lastErrors[1]?.message, 'connection refused');
    assert.equal((await source.revision(W(5000))).requests, 10);
    // Back: its growth over the gap is counted between its own samples.
    b!.failWith = undefined;
    b!.record(2, 5);
    await tick();
    assert.equal(source.lastErrors[1], undefined);
    assert.equal((await source.revision(W(10_000))).requests, 10 + 25);
    assert.equal(source.historyLength(), 3);
  });
});

describe('shadow', () => {
  test('shadow figures are differences of the mirrored revision counters, summed over gateways', async () => {
    const {
      gws: [a, b],
      source,
      tick,
    } = setup(2);
    a!.shadows = [shadowCounters('production', 'risk', 2, { mirrored: 100, compared: 100, agreed: 90 })];
    await source.sampleNow();
    a!.shadows = [
      shadowCounters('production', 'risk', 2, {
        mirrored: 120,
        compared: 118,
        agreed: 106,
        numericElements: 18,
        absDiffSum: 0.36,
        primaryLatencySum: 0.18,
        shadowLatencySum: 0.9,
      }),
    ];
    b!.shadows = [
      shadowCounters('production', 'risk', 2, {
        mirrored: 10,
        dropped: 3,
        shadowErrors: 2,
        compared: 2,
        agreed: 2,
        numericElements: 2,
      }),
    ];
    await tick();
    const m = await source.shadow(W(5000));
    assert.equal(m.mirrored, 30);
    assert.equal(m.dropped, 3);
    assert.equal(m.compared, 20);
    assert.equal(m.agreementRate, 18 / 20);
    assert.ok(Math.abs(m.meanAbsoluteDifference! - 0.36 / 20) < 1e-12);
    assert.ok(Math.abs(m.latencyDeltaSeconds! - (0.9 - 0.18) / 20) < 1e-12);
    assert.ok(Math.abs(m.errorRateDelta! - 2 / 30) < 1e-12);
    assert.equal((await source.shadow(W(5000, 3))).mirrored, 0);
  });
});

describe('retention and sampling', () => {
  test('samples older than the retention are dropped, keeping one at the cutoff', async () => {
    const {
      gws: [g],
      source,
      tick,
    } = setup(1, { retentionMs: 5000 });
    await source.sampleNow();
    for (let s = 0; s < 20; s++) {
      g!.record(2, 1);
      await tick(1000);
    }
    assert.equal(source.historyLength(), 6);
    const m = await source.revision(W(60_000));
    assert.equal(m.requests, 5);
    assert.equal(m.coveredMs, 5000);
  });

  test('old rounds are merged into coarse steps without losing a count', async () => {
    const {
      gws: [g],
      source,
      tick,
    } = setup(1, { retentionMs: 300_000 });
    await source.sampleNow();
    // 5 minutes at the default 250 ms sampling, one response per round, a restart in the middle.
    for (let i = 1; i <= 1200; i++) {
      if (i === 700) g!.restart();
      g!.record(2, 1);
      await tick(250);
    }
    // The last minute keeps all 240 rounds; the 4 minutes before are 5 s steps (48), plus the start.
    const held = source.historyLength();
    assert.ok(held >= 240 + 48 && held <= 240 + 48 + 3, `${held} rounds held`);
    for (const [windowMs, expected] of [
      [5000, 20],
      [60_000, 240],
      [300_000, 1200],
    ] as const) {
      const m = await source.revision(W(windowMs));
      assert.equal(m.requests, expected, `window ${windowMs}`);
      assert.equal(m.coveredMs, windowMs);
    }
    // A window that starts inside the coarse zone begins at the step boundary at or before it.
    const m = await source.revision(W(62_000));
    assert.ok(m.coveredMs >= 62_000 && m.coveredMs <= 67_000, `covered ${m.coveredMs}`);
    assert.equal(m.requests, m.coveredMs / 250);
  });

  test('start() samples on a timer until stop(); sampleNow() sees traffic at once', async () => {
    const g = new SyntheticGateway();
    const source = new BuiltinMetricsSource({ providers: [g.snapshot], sampleIntervalMs: 10 });
    source.start();
    try {
      // The timer keeps sampling with no one asking (no timing goal: a loaded machine may be slow).
      await eventually(async () => (source.historyLength() >= 5 ? true : undefined), {
        timeoutMs: 10_000,
        intervalMs: 100,
        message: 'the timer to take 5 samples',
      });
      g.record(2, 7);
      await source.sampleNow();
      assert.equal((await source.revision(W(60_000))).requests, 7);
    } finally {
      await source.stop();
    }
    const after = source.historyLength();
    // The stopped timer had its chance to fire: a twin source on the same interval samples 5 times meanwhile.
    const twin = new BuiltinMetricsSource({ providers: [g.snapshot], sampleIntervalMs: 10 });
    twin.start();
    try {
      await eventually(() => twin.historyLength() >= 5, {
        timeoutMs: 10_000,
        message: 'the twin timer to take 5 samples',
      });
    } finally {
      await twin.stop();
    }
    assert.equal(source.historyLength(), after, 'no samples after stop()');
  });

  test('an async provider slower than the interval is not sampled twice at once', async () => {
    let concurrent = 0;
    let most = 0;
    let calls = 0;
    const g = new SyntheticGateway();
    const slow = async () => {
      calls++;
      concurrent++;
      most = Math.max(most, concurrent);
      await letTimePass(30, 'the provider is slower than the 5 ms sample interval');
      concurrent--;
      return g.snapshot();
    };
    const source = new BuiltinMetricsSource({ providers: [slow], sampleIntervalMs: 5 });
    source.start();
    // Three slow samples in a row: the 5 ms timer fired many times while one was running.
    await eventually(() => calls >= 3, { timeoutMs: 10_000, message: 'three timer samples' });
    await Promise.all([source.sampleNow(), source.sampleNow()]);
    await source.stop();
    assert.equal(most, 1);
  });
});
