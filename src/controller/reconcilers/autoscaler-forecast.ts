/**
 * The autoscaler's forecasts: with `predictive.enabled`, a Holt-Winters fit of the request rate's
 * bucketed history (`rate-history.ts`), refitted when a bucket closes, which can raise the size
 * before an expected rise; and the fresh vertical (CPU / memory) recommendation from the usage
 * samples, when one is due.
 */
import type { VerticalRecommendationView } from '../../core/resources.js';
import type { Deployment } from '../../core/resources.js';
import { forecastSeries } from '../../core/autoscaling/holt-winters.js';
import type { ResolvedScaling } from '../../core/autoscaling/scaling-spec.js';
import { recommendResources } from '../../core/autoscaling/vertical.js';
import type { DeploymentTraffic } from '../../metrics/metrics-source.js';
import { round3, type Tracked } from './autoscaler-tracked.js';
import { RateHistory } from './rate-history.js';

/** Adds the current rate to the forecast's history; on a closed bucket refits the forecast. Returns whether a bucket closed. */
export function recordRate(
  scaling: ResolvedScaling,
  tracked: Tracked,
  now: number,
  traffic: DeploymentTraffic | undefined,
): boolean {
  const p = scaling.predictive;
  if (!p.enabled || traffic === undefined) return false;
  const maxBuckets = Math.max(2 * p.season, 240);
  if (tracked.history === undefined || tracked.history.bucketSeconds !== p.bucket)
    tracked.history = new RateHistory(p.bucket, maxBuckets, tracked.record?.history);
  if (!tracked.history.add(now, traffic.requestRate)) return false;
  const steps = Math.max(1, Math.ceil(p.horizon / p.bucket));
  const fitted = forecastSeries(tracked.history.values(), p.season, steps);
  if (fitted === undefined) {
    tracked.forecast = undefined;
    return true;
  }
  tracked.forecast = {
    time: new Date(now).toISOString(),
    horizonSeconds: p.horizon,
    requestRate: round3(fitted.value),
    method: fitted.method,
    error: {
      ...(fitted.error.mape === undefined ? {} : { mape: round3(fitted.error.mape) }),
      rmse: round3(fitted.error.rmse),
      samples: fitted.error.samples,
    },
  };
  return true;
}

/**
 * The forecast rate in the metric's units, through the current ratio of the metric to the rate
 * (Little's law for concurrency: in-flight = rate × latency). Undefined without a forecast or
 * with no traffic to take the ratio from (except for rps, where no ratio is needed).
 */
export function forecastInMetricUnits(
  scaling: ResolvedScaling,
  tracked: Tracked,
  traffic: DeploymentTraffic | undefined,
  stable: number | undefined,
): number | undefined {
  const forecast = tracked.forecast;
  if (!scaling.predictive.enabled || forecast === undefined) return undefined;
  let value: number | undefined;
  if (scaling.metric === 'rps') value = forecast.requestRate;
  else if (traffic !== undefined && traffic.requestRate > 0 && stable !== undefined)
    value = forecast.requestRate * (stable / traffic.requestRate);
  return value;
}

/** A fresh vertical recommendation when one is due (every `intervalMs`), else undefined. */
export function recommend(
  d: Deployment,
  tracked: Tracked,
  now: number,
  intervalMs: number,
): VerticalRecommendationView | undefined {
  if (now - tracked.lastRecommendAt < intervalMs) return undefined;
  const r = recommendResources(tracked.usage, {
    cpu: d.configuration.resources.cpu,
    memory: d.configuration.resources.memory,
  });
  if (r === undefined) return undefined;
  tracked.lastRecommendAt = now;
  return {
    time: new Date(now).toISOString(),
    cpu: r.cpu,
    memory: r.memory,
    memoryLimit: r.memoryLimit,
    change: r.change,
    basis: r.basis,
    samples: r.samples,
  };
}
