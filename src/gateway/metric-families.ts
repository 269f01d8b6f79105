/**
 * The gateway's metric families, computed at scrape time from the request stats: which stats
 * field each route, ejection and shadow family reads, the histogram's samples, and the custom
 * collector ({@link Family}) that registers with prom-client like one of its own metrics.
 */
import { REQUEST_DURATION, type RouteCounterField, type ShadowCounterField } from '../protocol/metric-names.js';
import { type Labels, LATENCY_BUCKETS, type TargetStats } from './request-stats.js';

/** A metric family whose samples are computed at scrape time; registers like a prom-client metric. */
export class Family {
  readonly aggregator = 'sum';
  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: 'counter' | 'gauge' | 'histogram',
    private readonly samples: () => Sample[],
  ) {}

  get(): { name: string; help: string; type: string; values: Sample[]; aggregator: string } {
    return { name: this.name, help: this.help, type: this.type, values: this.samples(), aggregator: this.aggregator };
  }
}

/** The route families (named in protocol/metric-names.ts): the {@link RouteStats} field, help and type. */
export const ROUTE_FAMILIES: readonly (readonly [RouteCounterField, string, 'counter' | 'gauge'])[] = [
  ['inFlight', 'Requests of the route dispatched to a replica and not finished.', 'gauge'],
  ['held', 'Requests of the route held now, waiting for a first ready replica.', 'gauge'],
  ['arrivals', 'Requests that arrived for the route.', 'counter'],
  ['heldTotal', 'Requests of the route that were held for a first ready replica.', 'counter'],
  ['holdRejected', 'Requests of the route answered 503 from the hold (queue full or timeout).', 'counter'],
];

/** Ejection causes and the {@link TargetStats} field counting each. */
export const EJECTION_CAUSES = [
  ['5xx', 'ejected5xx'],
  ['timeout', 'ejectedTimeout'],
  ['connect', 'ejectedConnect'],
] as const;

/** The shadow counter families (named in protocol/metric-names.ts): the {@link ShadowStats} field and help. */
export const SHADOW_FAMILIES: readonly (readonly [ShadowCounterField, string])[] = [
  ['mirrored', 'Request copies sent to a mirrored revision.'],
  ['dropped', 'Request copies not sent because too many were in flight.'],
  ['compared', 'Mirrored requests whose primary and mirror responses were compared.'],
  ['agreed', 'Compared pairs whose outputs agreed.'],
  ['numericElements', 'Numeric output elements compared.'],
  ['absDiffSum', 'Sum of absolute differences of the compared numeric output elements.'],
  ['primaryLatencySum', 'Sum of primary response latencies over compared pairs.'],
  ['shadowLatencySum', 'Sum of mirror response latencies over compared pairs.'],
  ['primaryErrors', 'Mirrored requests whose primary response was an error (5xx or none).'],
  ['shadowErrors', 'Mirrored requests whose mirror response was an error (5xx or none).'],
];

/** One sample as prom-client reads it from a metric's `get()`. */
export interface Sample {
  value: number;
  labels: Labels;
  metricName?: string;
}

/** The request-duration histogram of one target: cumulative buckets, sum and count. */
export function histogramSamples(t: TargetStats): Sample[] {
  const samples: Sample[] = [];
  let cumulative = 0;
  for (let i = 0; i <= LATENCY_BUCKETS.length; i++) {
    cumulative += t.buckets[i]!;
    const le = i < LATENCY_BUCKETS.length ? String(LATENCY_BUCKETS[i]) : '+Inf';
    samples.push({ metricName: `${REQUEST_DURATION}_bucket`, value: cumulative, labels: { ...t.labels, le } });
  }
  samples.push({ metricName: `${REQUEST_DURATION}_sum`, value: t.sum, labels: t.labels });
  samples.push({ metricName: `${REQUEST_DURATION}_count`, value: t.count, labels: t.labels });
  return samples;
}
