import assert from 'node:assert/strict';
import { test } from 'node:test';
import { forecastSeries } from '../src/core/autoscaling/holt-winters.js';

const series = (n: number, f: (t: number) => number): number[] => Array.from({ length: n }, (_, t) => f(t));
const close = (actual: number, expected: number, tolerance: number, what: string): void =>
  assert.ok(Math.abs(actual - expected) <= tolerance, `${what}: ${actual} is not within ${tolerance} of ${expected}`);

/** A deterministic pseudo-random sequence in [-1, 1) (so the tests never flake). */
function noise(seed: number): () => number {
  let x = seed;
  return () => {
    x = (x * 1_103_515_245 + 12_345) % 2 ** 31;
    return (x / 2 ** 31) * 2 - 1;
  };
}

test('forecastSeries recovers a seasonal series with a trend', () => {
  const truth = (t: number) => 100 + 0.5 * t + 20 * Math.sin((2 * Math.PI * t) / 24);
  const values = series(24 * 5, truth);
  for (const steps of [1, 3, 6, 12]) {
    const f = forecastSeries(values, 24, steps);
    assert.ok(f);
    assert.equal(f.method, 'holt-winters');
    assert.ok(f.gamma !== undefined, 'a season parameter was chosen');
    close(f.value, truth(values.length - 1 + steps), 0.03 * truth(values.length - 1 + steps), `${steps} steps ahead`);
    assert.ok(f.error.mape !== undefined && f.error.mape < 0.02, `one-step MAPE ${f.error.mape}`);
    assert.equal(f.error.samples, values.length - 24);
  }
});

test('forecastSeries follows a noisy seasonal series with a small error', () => {
  const r = noise(7);
  const values = series(24 * 6, (t) => 200 + 60 * Math.sin((2 * Math.PI * t) / 24) + 5 * r());
  const f = forecastSeries(values, 24, 1)!;
  close(f.value, 200 + 60 * Math.sin((2 * Math.PI * values.length) / 24), 15, 'next value');
  assert.ok(f.error.rmse < 10, `rmse ${f.error.rmse} stays near the noise`);
});

test("forecastSeries extends a linear trend with Holt's method", () => {
  const values = series(20, (t) => 5 + 2 * t);
  for (const season of [0, 24]) {
    const f = forecastSeries(values, season, 3)!;
    assert.equal(f.method, 'holt', `season ${season}: too short for a season, or none asked`);
    assert.equal(f.gamma, undefined);
    close(f.value, 5 + 2 * 22, 1e-9, 'three steps past the end');
    close(f.error.rmse, 0, 1e-9, 'a line fits exactly');
    assert.equal(f.error.samples, 18);
  }
});

test('forecastSeries keeps a constant constant', () => {
  for (const [values, season, method] of [
    [Array(30).fill(50), 0, 'holt'],
    [Array(30).fill(50), 10, 'holt-winters'],
  ] as const) {
    const f = forecastSeries(values, season, 5)!;
    assert.equal(f.method, method);
    close(f.value, 50, 1e-9, method);
    assert.equal(f.error.mape, 0);
    assert.equal(f.error.rmse, 0);
  }
});

test('forecastSeries rises before a recurring daily peak, so replicas start before it', () => {
  // Hourly buckets: a quiet 10 requests/s, a ramp at 08:00 and a peak of 100 from 09:00 to 11:00.
  const day = (hour: number) => (hour === 8 ? 50 : hour >= 9 && hour <= 11 ? 100 : 10);
  const r = noise(3);
  const values = series(24 * 4 + 8, (t) => day(t % 24) + r()); // ends at 07:00 on day five
  assert.ok(values.at(-1)! < 12, 'it is quiet now');
  const inOneHour = forecastSeries(values, 24, 1)!;
  const inTwoHours = forecastSeries(values, 24, 2)!;
  close(inOneHour.value, 50, 10, 'the ramp at 08:00');
  close(inTwoHours.value, 100, 10, 'the peak at 09:00');
  const withoutSeason = forecastSeries(values, 0, 2)!;
  assert.ok(withoutSeason.value < 30, `without a season there is no warning (${withoutSeason.value})`);
});

test('forecastSeries never forecasts below zero', () => {
  const f = forecastSeries([10, 8, 6, 4, 2], 0, 5)!;
  assert.equal(f.value, 0);
});

test('forecastSeries needs enough finite history', () => {
  assert.equal(forecastSeries([], 0, 1), undefined);
  assert.equal(forecastSeries([1, 2, 3], 0, 1), undefined);
  assert.equal(forecastSeries([1, 2, Number.NaN, 4, 5], 0, 1), undefined);
  assert.equal(forecastSeries([1, 2, 3, 4], 0, 1)?.method, 'holt');
  assert.equal(
    forecastSeries(
      series(47, () => 1),
      24,
      1,
    )?.method,
    'holt',
    'one sample short of two seasons',
  );
  assert.equal(
    forecastSeries(
      series(48, () => 1),
      24,
      1,
    )?.method,
    'holt-winters',
  );
});

test('forecastSeries handles two days of minutes (a 1440-bucket season)', () => {
  const r = noise(11);
  const values = series(3000, (t) => Math.max(0, 30 + 25 * Math.sin((2 * Math.PI * t) / 1440) + 2 * r()));
  const f = forecastSeries(values, 1440, 2)!;
  assert.equal(f.method, 'holt-winters');
  close(f.value, 30 + 25 * Math.sin((2 * Math.PI * 3001) / 1440), 6, 'two minutes ahead');
  assert.equal(f.error.samples, 3000 - 1440);
});
