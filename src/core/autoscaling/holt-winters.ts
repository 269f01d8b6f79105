/**
 * Forecasts of a bucketed series (requests/s per minute, say) for predictive scaling. Pure.
 *
 * Additive Holt-Winters (level + trend + a repeating season) when there are at least two full
 * seasons of history, Holt's linear trend (level + trend) when there are at least 4 values. The
 * smoothing parameters are picked by a coarse grid search that minimises the one-step-ahead
 * squared error over the history, so the cost is O(n · grid) with a grid of 5 values per
 * parameter: 125 runs for Holt-Winters, 25 for Holt.
 *
 * @example
 *   const f = forecastSeries(requestsPerMinute, 1440, 2); // two minutes ahead, daily season
 *   if (f) console.log(f.value, f.method, f.error.mape);
 */

/** A forecast and how well the chosen model fitted the history it came from. */
export interface Forecast {
  /** The predicted value `stepsAhead` buckets after the last one; never below 0. */
  value: number;
  method: 'holt-winters' | 'holt';
  /** Level smoothing. */
  alpha: number;
  /** Trend smoothing. */
  beta: number;
  /** Season smoothing (Holt-Winters only). */
  gamma?: number;
  /** One-step-ahead errors of the fitted run: MAPE over non-zero actuals (a fraction, 0.05 = 5%), RMSE, and how many steps they cover. */
  error: { mape?: number; rmse: number; samples: number };
}

/** Values tried for each smoothing parameter. */
const GRID = [0.1, 0.3, 0.5, 0.7, 0.9] as const;

/** One fitted run: the state after the last value and the one-step errors. */
interface Fit {
  sse: number;
  absPercent: number;
  nonZero: number;
  samples: number;
  forecast: (steps: number) => number;
}

/**
 * The forecast `stepsAhead` (≥ 1) buckets past the end of `values`, or undefined when there is
 * too little history (fewer than 4 values) or a value is not a finite number. `season` is in
 * buckets; below 2, or with fewer than two seasons of values, the season is ignored.
 */
export function forecastSeries(values: readonly number[], season: number, stepsAhead: number): Forecast | undefined {
  if (!values.every(Number.isFinite)) return undefined;
  const steps = Math.max(1, Math.round(stepsAhead));
  const seasonal = Number.isInteger(season) && season >= 2 && values.length >= 2 * season;
  if (!seasonal && values.length < 4) return undefined;

  let best: { fit: Fit; alpha: number; beta: number; gamma?: number } | undefined;
  for (const alpha of GRID) {
    for (const beta of GRID) {
      for (const gamma of seasonal ? GRID : [undefined]) {
        const fit = gamma === undefined ? holt(values, alpha, beta) : holtWinters(values, season, alpha, beta, gamma);
        if (best === undefined || fit.sse < best.fit.sse)
          best = { fit, alpha, beta, ...(gamma === undefined ? {} : { gamma }) };
      }
    }
  }
  const { fit, alpha, beta, gamma } = best!;
  const error: Forecast['error'] = { rmse: Math.sqrt(fit.sse / Math.max(1, fit.samples)), samples: fit.samples };
  if (fit.nonZero > 0) error.mape = fit.absPercent / fit.nonZero;
  return {
    value: Math.max(0, fit.forecast(steps)),
    method: seasonal ? 'holt-winters' : 'holt',
    alpha,
    beta,
    ...(gamma === undefined ? {} : { gamma }),
    error,
  };
}

/** Holt's linear trend, started from the first two values; errors count from the third. */
function holt(x: readonly number[], alpha: number, beta: number): Fit {
  let level = x[0]!;
  let trend = x[1]! - x[0]!;
  const errors = new ErrorSum();
  for (let t = 1; t < x.length; t++) {
    const predicted = level + trend;
    if (t >= 2) errors.add(x[t]!, predicted);
    const previous = level;
    level = alpha * x[t]! + (1 - alpha) * predicted;
    trend = beta * (level - previous) + (1 - beta) * trend;
  }
  return { ...errors.totals(), forecast: (steps) => level + steps * trend };
}

/**
 * Additive Holt-Winters. Start: the first season's mean is the level at its middle, the change of
 * means between the first two seasons gives the trend, and the first season's detrended values
 * give the seasonal offsets; the run starts at the second season, where errors are counted.
 */
function holtWinters(x: readonly number[], m: number, alpha: number, beta: number, gamma: number): Fit {
  const mean1 = mean(x, 0, m);
  let trend = (mean(x, m, 2 * m) - mean1) / m;
  let level = mean1 + (trend * (m - 1)) / 2;
  const offsets = new Float64Array(m);
  for (let i = 0; i < m; i++) offsets[i] = x[i]! - (mean1 + trend * (i - (m - 1) / 2));
  const errors = new ErrorSum();
  for (let t = m; t < x.length; t++) {
    const s = t % m;
    const predicted = level + trend + offsets[s]!;
    errors.add(x[t]!, predicted);
    const previous = level;
    level = alpha * (x[t]! - offsets[s]!) + (1 - alpha) * (level + trend);
    trend = beta * (level - previous) + (1 - beta) * trend;
    offsets[s] = gamma * (x[t]! - level) + (1 - gamma) * offsets[s]!;
  }
  const last = x.length - 1;
  return { ...errors.totals(), forecast: (steps) => level + steps * trend + offsets[(last + steps) % m]! };
}

function mean(x: readonly number[], from: number, to: number): number {
  let sum = 0;
  for (let i = from; i < to; i++) sum += x[i]!;
  return sum / (to - from);
}

/** Sums of one-step-ahead errors. */
class ErrorSum {
  private sse = 0;
  private absPercent = 0;
  private nonZero = 0;
  private samples = 0;

  add(actual: number, predicted: number): void {
    const e = actual - predicted;
    this.sse += e * e;
    this.samples++;
    if (actual !== 0) {
      this.absPercent += Math.abs(e / actual);
      this.nonZero++;
    }
  }

  totals(): Omit<Fit, 'forecast'> {
    return { sse: this.sse, absPercent: this.absPercent, nonZero: this.nonZero, samples: this.samples };
  }
}
