/**
 * The gateway's Prometheus metrics. The hot path only bumps plain numbers on objects resolved when
 * the route table is compiled ({@link TargetStats}, {@link RouteStats}); the numbers are turned into
 * samples when `/metrics` is scraped. prom-client supplies the registry, the process metrics and
 * the text exposition; its own label children hash their labels on every call, which is exactly
 * the per-request work the gateway avoids, so the gateway's families are small custom collectors.
 */
import { collectDefaultMetrics, type Metric, Registry } from 'prom-client';
import type { GatewaySnapshot, RevisionCounters, RouteCounters, ShadowCounters } from '../protocol/gateway-snapshot.js';
import {
  REQUEST_DURATION,
  REQUESTS_TOTAL,
  type RouteCounterField,
  ROUTE_METRIC_NAMES,
  type ShadowCounterField,
  SHADOW_METRIC_NAMES,
} from '../protocol/metric-names.js';

/** Histogram bounds, in seconds: the gateway adds well under a millisecond, models take more. */
export const LATENCY_BUCKETS: readonly number[] = [
  0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

type Labels = Readonly<Record<string, string>>;

/** Counters and latency for one (environment, deployment, revision); revision "" = no target chosen. */
export class TargetStats {
  /** Responses by status code. */
  readonly codes = new Map<number, number>();
  /** Non-cumulative bucket counts; the last slot is +Inf. */
  readonly buckets = new Float64Array(LATENCY_BUCKETS.length + 1);
  sum = 0;
  count = 0;
  /** Upstream attempts (first tries and retries). */
  attempts = 0;
  /** Attempts that were retries. */
  retries = 0;
  /** Ejections of this target's backends, by cause (see outlier-detection.ts). */
  ejected5xx = 0;
  ejectedTimeout = 0;
  ejectedConnect = 0;
  /**
   * The target's backends in the table in use (set when a table is committed), read at scrape
   * time for the ejected-backends gauge.
   */
  backends: readonly { readonly ejected: boolean }[] = [];

  constructor(readonly labels: Labels) {}

  /** Records one finished request. */
  observe(code: number, seconds: number): void {
    this.codes.set(code, (this.codes.get(code) ?? 0) + 1);
    let i = 0;
    while (i < LATENCY_BUCKETS.length && seconds > LATENCY_BUCKETS[i]!) i++;
    this.buckets[i]!++;
    this.sum += seconds;
    this.count++;
  }
}

/** Per-route counters and gauges (environment, deployment); see {@link RouteCounters}. */
export class RouteStats {
  /** Requests answered 503 because no target had a ready replica (from the hold too). */
  noReadyReplica = 0;
  /** Requests matched to the route (counted on arrival, before hold or forward). */
  arrivals = 0;
  /** Requests dispatched to a backend and not finished. */
  inFlight = 0;
  /** Requests in the hold queue now. */
  held = 0;
  /** Requests ever held. */
  heldTotal = 0;
  /** Held requests, and requests refused by a full hold queue, answered 503. */
  holdRejected = 0;
  constructor(readonly labels: Labels) {}
}

/** The route families (named in protocol/metric-names.ts): the {@link RouteStats} field, help and type. */
const ROUTE_FAMILIES: readonly (readonly [RouteCounterField, string, 'counter' | 'gauge'])[] = [
  ['inFlight', 'Requests of the route dispatched to a replica and not finished.', 'gauge'],
  ['held', 'Requests of the route held now, waiting for a first ready replica.', 'gauge'],
  ['arrivals', 'Requests that arrived for the route.', 'counter'],
  ['heldTotal', 'Requests of the route that were held for a first ready replica.', 'counter'],
  ['holdRejected', 'Requests of the route answered 503 from the hold (queue full or timeout).', 'counter'],
];

/** Ejection causes and the {@link TargetStats} field counting each. */
const EJECTION_CAUSES = [
  ['5xx', 'ejected5xx'],
  ['timeout', 'ejectedTimeout'],
  ['connect', 'ejectedConnect'],
] as const;

/** Counters of one mirrored (environment, deployment, revision); see {@link ShadowCounters}. */
export class ShadowStats {
  mirrored = 0;
  dropped = 0;
  compared = 0;
  agreed = 0;
  numericElements = 0;
  absDiffSum = 0;
  primaryLatencySum = 0;
  shadowLatencySum = 0;
  primaryErrors = 0;
  shadowErrors = 0;
  /** Mirrored requests not settled yet (mirror answering, or their comparison pending): the drop bound reads it. */
  inFlight = 0;

  constructor(readonly labels: Labels) {}
}

/** The shadow counter families (named in protocol/metric-names.ts): the {@link ShadowStats} field and help. */
const SHADOW_FAMILIES: readonly (readonly [ShadowCounterField, string])[] = [
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

interface Sample {
  value: number;
  labels: Labels;
  metricName?: string;
}

/** A metric family whose samples are computed at scrape time; registers like a prom-client metric. */
class Family {
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

/** Every gateway metric, with the caches that keep label resolution out of the request path. */
export class GatewayMetrics {
  readonly registry = new Registry();
  /** Requests received and not yet answered (all paths, including health checks). */
  inFlight = 0;
  /** Version of the table in use; undefined before the first. */
  tableVersion: number | undefined;
  /** Table swaps applied. */
  tableUpdates = 0;
  /** Client connections refused because `maxConnections` were open. */
  connectionsRefused = 0;
  /** Requests that matched no route, by status code. */
  readonly unrouted = new Map<number, number>();
  private targets = new Map<string, TargetStats>();
  private routes = new Map<string, RouteStats>();
  private shadows = new Map<string, ShadowStats>();

  constructor() {
    collectDefaultMetrics({ register: this.registry });
    // prom-client names these gauges with a `_total` suffix that Prometheus reserves for counters.
    for (const name of [
      'nodejs_active_handles_total',
      'nodejs_active_requests_total',
      'nodejs_active_resources_total',
    ]) {
      this.registry.removeSingleMetric(name);
    }
    // Stats for "no target" (revision "") appear once they have counted something.
    const targets = (): TargetStats[] =>
      [...this.targets.values()].filter((t) => t.labels.revision !== '' || t.count > 0);
    // Attempts and ejections only happen once a target (a revision) is chosen.
    const revisions = (): TargetStats[] => [...this.targets.values()].filter((t) => t.labels.revision !== '');
    this.add(
      REQUESTS_TOTAL,
      'Requests answered, by environment, deployment, revision and HTTP status code.',
      'counter',
      () =>
        targets().flatMap((t) =>
          [...t.codes].map(([code, value]) => ({ value, labels: { ...t.labels, code: String(code) } })),
        ),
    );
    this.add(REQUEST_DURATION, 'Time from receiving a request to the end of its response.', 'histogram', () =>
      targets().flatMap(histogramSamples),
    );
    this.add(
      'wharf_gateway_upstream_attempts_total',
      'Requests sent to replicas, first tries and retries.',
      'counter',
      () => revisions().map((t) => ({ value: t.attempts, labels: t.labels })),
    );
    this.add(
      'wharf_gateway_upstream_retries_total',
      'Requests resent to another replica after a failure before any response.',
      'counter',
      () => revisions().map((t) => ({ value: t.retries, labels: t.labels })),
    );
    this.add(
      'wharf_gateway_no_ready_replica_total',
      'Requests answered 503 because the route had no ready replica.',
      'counter',
      () => [...this.routes.values()].map((r) => ({ value: r.noReadyReplica, labels: r.labels })),
    );
    this.add(
      'wharf_gateway_ejections_total',
      'Backends taken out of rotation, by cause (5xx, timeout, connect).',
      'counter',
      () =>
        revisions().flatMap((t) =>
          EJECTION_CAUSES.map(([reason, field]) => ({ value: t[field], labels: { ...t.labels, reason } })),
        ),
    );
    this.add(
      'wharf_gateway_ejected_backends',
      'Backends ejected and not readmitted yet (out of rotation, or on probation until their next answer).',
      'gauge',
      () => revisions().map((t) => ({ value: t.backends.filter((b) => b.ejected).length, labels: t.labels })),
    );
    for (const [field, help, type] of ROUTE_FAMILIES) {
      this.add(ROUTE_METRIC_NAMES[field], help, type, () =>
        [...this.routes.values()].map((r) => ({ value: r[field], labels: r.labels })),
      );
    }
    this.add(
      'wharf_gateway_unrouted_requests_total',
      'Requests that matched no route, by HTTP status code.',
      'counter',
      () => [...this.unrouted].map(([code, value]) => ({ value, labels: { code: String(code) } })),
    );
    this.add('wharf_gateway_requests_in_flight', 'Requests received and not yet answered.', 'gauge', () => [
      { value: this.inFlight, labels: {} },
    ]);
    this.add(
      'wharf_gateway_route_table_version',
      'Version of the route table in use (absent before the first table).',
      'gauge',
      () => (this.tableVersion === undefined ? [] : [{ value: this.tableVersion, labels: {} }]),
    );
    this.add('wharf_gateway_route_table_updates_total', 'Route tables applied.', 'counter', () => [
      { value: this.tableUpdates, labels: {} },
    ]);
    this.add(
      'wharf_gateway_connections_refused_total',
      'Client connections answered 503 and closed because the gateway had its maximum open.',
      'counter',
      () => [{ value: this.connectionsRefused, labels: {} }],
    );
    for (const [field, help] of SHADOW_FAMILIES) {
      this.add(SHADOW_METRIC_NAMES[field], help, 'counter', () =>
        [...this.shadows.values()].map((s) => ({ value: s[field], labels: s.labels })),
      );
    }
  }

  /**
   * Starts a new generation of stats for a table being compiled: stats for label sets that the
   * new table still has carry over (counters stay monotonic), the rest are dropped at {@link commit}.
   */
  beginTable(): StatsScope {
    const targets = new Map<string, TargetStats>();
    const routes = new Map<string, RouteStats>();
    const shadows = new Map<string, ShadowStats>();
    return {
      target: (environment, deployment, revision) => {
        const key = `${environment}\0${deployment}\0${revision}`;
        const stats =
          targets.get(key) ??
          this.targets.get(key) ??
          new TargetStats({ environment, deployment, revision: String(revision) });
        targets.set(key, stats);
        return stats;
      },
      route: (environment, deployment) => {
        const key = `${environment}\0${deployment}`;
        const stats = routes.get(key) ?? this.routes.get(key) ?? new RouteStats({ environment, deployment });
        routes.set(key, stats);
        return stats;
      },
      shadow: (environment, deployment, revision) => {
        const key = `${environment}\0${deployment}\0${revision}`;
        const stats =
          shadows.get(key) ??
          this.shadows.get(key) ??
          new ShadowStats({ environment, deployment, revision: String(revision) });
        shadows.set(key, stats);
        return stats;
      },
      commit: (version) => {
        this.targets = targets;
        this.routes = routes;
        this.shadows = shadows;
        this.tableVersion = version;
        this.tableUpdates++;
      },
    };
  }

  /** Records a request that matched no route. */
  unroutedRequest(code: number): void {
    this.unrouted.set(code, (this.unrouted.get(code) ?? 0) + 1);
  }

  /** The cumulative counters as plain numbers; see {@link GatewaySnapshot}. */
  snapshot(): GatewaySnapshot {
    const revisions: RevisionCounters[] = [];
    for (const t of this.targets.values()) {
      if (t.labels.revision === '' && t.count === 0) continue;
      const buckets: number[] = [];
      let cumulative = 0;
      for (const n of t.buckets) buckets.push((cumulative += n));
      revisions.push({
        environment: t.labels.environment!,
        deployment: t.labels.deployment!,
        revision: t.labels.revision!,
        codes: Object.fromEntries([...t.codes].map(([code, n]) => [String(code), n])),
        buckets,
        latencySum: t.sum,
        count: t.count,
      });
    }
    const shadows: ShadowCounters[] = [...this.shadows.values()].map((s) => ({
      environment: s.labels.environment!,
      deployment: s.labels.deployment!,
      revision: Number(s.labels.revision),
      mirrored: s.mirrored,
      dropped: s.dropped,
      compared: s.compared,
      agreed: s.agreed,
      numericElements: s.numericElements,
      absDiffSum: s.absDiffSum,
      primaryLatencySum: s.primaryLatencySum,
      shadowLatencySum: s.shadowLatencySum,
      primaryErrors: s.primaryErrors,
      shadowErrors: s.shadowErrors,
    }));
    const routes: RouteCounters[] = [...this.routes.values()]
      .filter((r) => r.arrivals > 0)
      .map((r) => ({
        environment: r.labels.environment!,
        deployment: r.labels.deployment!,
        inFlight: r.inFlight,
        held: r.held,
        heldTotal: r.heldTotal,
        holdRejected: r.holdRejected,
        arrivals: r.arrivals,
      }));
    return { time: Date.now(), latencyBuckets: LATENCY_BUCKETS, revisions, shadows, routes };
  }

  /** The exposition: content type and text. */
  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  private add(name: string, help: string, type: 'counter' | 'gauge' | 'histogram', samples: () => Sample[]): void {
    // A Family has everything the registry reads from a metric (name, help, type, get()).
    this.registry.registerMetric(new Family(name, help, type, samples) as unknown as Metric);
  }
}

/** Resolves stats for one table compilation; see {@link GatewayMetrics.beginTable}. */
export interface StatsScope {
  target(environment: string, deployment: string, revision: number | ''): TargetStats;
  route(environment: string, deployment: string): RouteStats;
  /** Shadow counters of a mirrored revision. */
  shadow(environment: string, deployment: string, revision: number): ShadowStats;
  /** Makes this scope's stats the exported set and records the table version. */
  commit(version: number): void;
}

function histogramSamples(t: TargetStats): Sample[] {
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
