/**
 * The gateway's Prometheus metrics. The hot path only bumps plain numbers on objects resolved when
 * the route table is compiled ({@link TargetStats}, {@link RouteStats}: request-stats.ts); the numbers are turned into
 * samples when `/metrics` is scraped. prom-client supplies the registry, the process metrics and
 * the text exposition; its own label children hash their labels on every call, which is exactly
 * the per-request work the gateway avoids, so the gateway's families are small custom collectors
 * (metric-families.ts).
 */
import { collectDefaultMetrics, type Metric, Registry } from 'prom-client';
import type { GatewaySnapshot, RevisionCounters, RouteCounters, ShadowCounters } from '../protocol/gateway-snapshot.js';
import {
  AUTH_DENIED_TOTAL,
  RATE_LIMITED_TOTAL,
  REQUEST_DURATION,
  REQUESTS_TOTAL,
  ROUTE_METRIC_NAMES,
  SHADOW_METRIC_NAMES,
} from '../protocol/metric-names.js';
import { DENIAL_REASONS } from './token-check.js';
import {
  EJECTION_CAUSES,
  Family,
  histogramSamples,
  ROUTE_FAMILIES,
  type Sample,
  SHADOW_FAMILIES,
} from './metric-families.js';
import { LATENCY_BUCKETS, RouteStats, ShadowStats, TargetStats } from './request-stats.js';

export { LATENCY_BUCKETS, RouteStats, ShadowStats, TargetStats } from './request-stats.js';

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
    // Access series: for routes that are protected / limited now, or have refused something before.
    this.add(AUTH_DENIED_TOTAL, 'Requests refused by the token check of a protected route, by reason.', 'counter', () =>
      [...this.routes.values()]
        .filter((r) => r.protectedRoute || DENIAL_REASONS.some((reason) => r.authDenied[reason] > 0))
        .flatMap((r) =>
          DENIAL_REASONS.map((reason) => ({ value: r.authDenied[reason], labels: { ...r.labels, reason } })),
        ),
    );
    this.add(RATE_LIMITED_TOTAL, "Requests answered 429 because the caller's token bucket was empty.", 'counter', () =>
      [...this.routes.values()]
        .filter((r) => r.limitedRoute || r.rateLimited > 0)
        .map((r) => ({ value: r.rateLimited, labels: r.labels })),
    );
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
