// The built-in source's arithmetic: counter increases with resets, Prometheus-style histogram
// quantiles, and the windowed figures computed from them.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { RevisionCounters } from '../src/protocol/gateway-snapshot.js';
import {
  addRevisionIncrease,
  addShadowIncrease,
  emptyRevisionIncrease,
  emptyShadowIncrease,
  histogramQuantile,
  revisionMetrics,
  shadowMetrics,
} from '../src/metrics/window-math.js';
import { shadowCounters } from './support/metrics.js';

const BOUNDS = [0.1, 0.2, 0.5];

function counters(codes: Record<string, number>, buckets: number[], latencySum: number): RevisionCounters {
  return {
    environment: 'e',
    deployment: 'd',
    revision: '1',
    codes,
    buckets,
    latencySum,
    count: buckets[buckets.length - 1]!,
  };
}

describe('histogramQuantile', () => {
  const cases: { name: string; q: number; cumulative: number[]; expect: number | undefined }[] = [
    { name: 'median inside the second bucket', q: 0.5, cumulative: [2, 6, 10, 10], expect: 0.1 + 0.1 * (3 / 4) },
    { name: 'rank in the first bucket interpolates from 0', q: 0.1, cumulative: [2, 6, 10, 10], expect: 0.1 * (1 / 2) },
    { name: 'q = 1 is the upper bound of the last non-empty bucket', q: 1, cumulative: [2, 6, 10, 10], expect: 0.5 },
    { name: 'q = 0 is the lower bound of the first bucket', q: 0, cumulative: [2, 6, 10, 10], expect: 0 },
    {
      name: 'p99 with every observation in the +Inf bucket is the highest finite bound',
      q: 0.99,
      cumulative: [0, 0, 0, 5],
      expect: 0.5,
    },
    {
      name: 'p99 of a long tail lands in the last finite bucket',
      q: 0.99,
      cumulative: [90, 98, 100, 100],
      expect: 0.2 + 0.3 * (1 / 2),
    },
    { name: 'no observations: undefined', q: 0.5, cumulative: [0, 0, 0, 0], expect: undefined },
    {
      name: 'a bucket that dips by float noise is smoothed to stay monotonic',
      q: 0.875,
      cumulative: [6, 5.9999999, 8, 8],
      expect: 0.2 + 0.3 * (1 / 2),
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const got = histogramQuantile(c.q, BOUNDS, c.cumulative);
      if (c.expect === undefined) assert.equal(got, undefined);
      else assert.ok(got !== undefined && Math.abs(got - c.expect) < 1e-12, `got ${got}, want ${c.expect}`);
    });
  }
});

describe('addRevisionIncrease', () => {
  test('growth between two samples', () => {
    const inc = emptyRevisionIncrease(BOUNDS.length);
    addRevisionIncrease(
      inc,
      counters({ 200: 5, 500: 1 }, [1, 4, 6, 6], 0.9),
      counters({ 200: 9, 500: 2, 503: 1 }, [2, 8, 12, 12], 1.7),
    );
    assert.deepEqual(inc.codes, { 200: 4, 500: 1, 503: 1 });
    assert.deepEqual(inc.buckets, [1, 4, 6, 6]);
    assert.ok(Math.abs(inc.latencySum - 0.8) < 1e-12);
    assert.equal(inc.count, 6);
  });

  test('a series absent from the older sample counts all of its value', () => {
    const inc = emptyRevisionIncrease(BOUNDS.length);
    addRevisionIncrease(inc, undefined, counters({ 200: 3 }, [3, 3, 3, 3], 0.1));
    assert.deepEqual(inc.codes, { 200: 3 });
    assert.equal(inc.count, 3);
  });

  test('a decrease is a restart: the newer value is all growth, for every field of the series', () => {
    const inc = emptyRevisionIncrease(BOUNDS.length);
    // Only the count of 200s went down, yet buckets and the sum must be read from zero too.
    addRevisionIncrease(
      inc,
      counters({ 200: 100, 500: 1 }, [50, 90, 101, 101], 20),
      counters({ 200: 7, 500: 4 }, [11, 11, 11, 11], 0.5),
    );
    assert.deepEqual(inc.codes, { 200: 7, 500: 4 });
    assert.deepEqual(inc.buckets, [11, 11, 11, 11]);
    assert.equal(inc.latencySum, 0.5);
    assert.equal(inc.count, 11);
  });

  test('increases add up over consecutive pairs, so a restart inside the window is not missed', () => {
    const a = counters({ 200: 10 }, [10, 10, 10, 10], 1);
    const restarted = counters({ 200: 3 }, [3, 3, 3, 3], 0.3);
    const later = counters({ 200: 20 }, [20, 20, 20, 20], 2);
    const inc = emptyRevisionIncrease(BOUNDS.length);
    addRevisionIncrease(inc, a, restarted);
    addRevisionIncrease(inc, restarted, later);
    // The two ends alone (10 → 20) would say 10.
    assert.equal(inc.codes['200'], 3 + 17);
  });
});

describe('revisionMetrics', () => {
  test('requests, errors ≥ 500 (gateway 502/503/504 included), success rate, rate and quantiles', () => {
    const inc = {
      codes: { 200: 90, 404: 4, 500: 2, 502: 1, 503: 2, 504: 1 },
      buckets: [50, 90, 100, 100],
      latencySum: 10,
      count: 100,
    };
    const m = revisionMetrics(inc, BOUNDS, 4000);
    assert.equal(m.requests, 100);
    assert.equal(m.errors, 6);
    assert.equal(m.successRate, 0.94);
    assert.equal(m.requestRate, 25);
    assert.equal(m.coveredMs, 4000);
    assert.equal(m.p50, 0.1);
    assert.ok(Math.abs(m.p95! - (0.2 + 0.3 * (5 / 10))) < 1e-12);
    assert.ok(Math.abs(m.p99! - (0.2 + 0.3 * (9 / 10))) < 1e-12);
  });

  test('no requests: ratios and quantiles undefined, rate 0', () => {
    const m = revisionMetrics(emptyRevisionIncrease(BOUNDS.length), BOUNDS, 0);
    assert.deepEqual(m, {
      requests: 0,
      errors: 0,
      successRate: undefined,
      p50: undefined,
      p95: undefined,
      p99: undefined,
      requestRate: 0,
      coveredMs: 0,
    });
  });
});

describe('shadow increases and metrics', () => {
  test('deltas, ratios and means', () => {
    const inc = emptyShadowIncrease();
    const older = shadowCounters('e', 'd', 2, {
      mirrored: 10,
      compared: 8,
      agreed: 8,
      numericElements: 8,
      absDiffSum: 0,
      primaryLatencySum: 0.08,
      shadowLatencySum: 0.4,
    });
    const newer = shadowCounters('e', 'd', 2, {
      mirrored: 30,
      dropped: 2,
      compared: 26,
      agreed: 24,
      numericElements: 26,
      absDiffSum: 0.9,
      primaryLatencySum: 0.26,
      shadowLatencySum: 1.3,
      primaryErrors: 1,
      shadowErrors: 3,
    });
    addShadowIncrease(inc, older, newer);
    const m = shadowMetrics(inc);
    assert.equal(m.mirrored, 20);
    assert.equal(m.dropped, 2);
    assert.equal(m.compared, 18);
    assert.ok(Math.abs(m.agreementRate! - 16 / 18) < 1e-12);
    assert.ok(Math.abs(m.meanAbsoluteDifference! - 0.9 / 18) < 1e-12);
    assert.ok(Math.abs(m.latencyDeltaSeconds! - (0.9 - 0.18) / 18) < 1e-12);
    assert.ok(Math.abs(m.errorRateDelta! - 2 / 20) < 1e-12);
  });

  test('a restart counts from zero; nothing compared gives undefined ratios', () => {
    const inc = emptyShadowIncrease();
    addShadowIncrease(
      inc,
      shadowCounters('e', 'd', 2, { mirrored: 50 }),
      shadowCounters('e', 'd', 2, { mirrored: 4, dropped: 1 }),
    );
    const m = shadowMetrics(inc);
    assert.equal(m.mirrored, 4);
    assert.equal(m.dropped, 1);
    assert.equal(m.agreementRate, undefined);
    assert.equal(m.meanAbsoluteDifference, undefined);
    assert.equal(m.latencyDeltaSeconds, undefined);
    assert.equal(m.errorRateDelta, 0);
  });
});
