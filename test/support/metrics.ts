/**
 * Helpers for the metrics tests: synthetic gateways that count with the real {@link TargetStats}
 * and turn them into {@link GatewaySnapshot}s (cumulative buckets, as the contract says), shadow
 * counters, a settable clock, and a tiny HTTP server that serves whatever exposition text a test sets.
 */
import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import type { GatewaySnapshot, RevisionCounters, ShadowCounters } from '../../src/protocol/gateway-snapshot.js';
import { LATENCY_BUCKETS, TargetStats } from '../../src/gateway/metrics.js';

/** A clock a test moves by hand. */
export class FakeClock {
  constructor(public now = 1_000_000) {}
  readonly read = (): number => this.now;
  advance(ms: number): void {
    this.now += ms;
  }
}

/** The contract's cumulative counters of one TargetStats. */
export function revisionCounters(stats: TargetStats): RevisionCounters {
  const buckets: number[] = [];
  let cumulative = 0;
  for (const n of stats.buckets) buckets.push((cumulative += n));
  return {
    environment: stats.labels.environment!,
    deployment: stats.labels.deployment!,
    revision: stats.labels.revision!,
    codes: Object.fromEntries([...stats.codes].map(([code, n]) => [String(code), n])),
    buckets,
    latencySum: stats.sum,
    count: stats.count,
  };
}

/** Zero shadow counters for a mirrored revision, with `values` set. */
export function shadowCounters(
  environment: string,
  deployment: string,
  revision: number,
  values: Partial<ShadowCounters> = {},
): ShadowCounters {
  return {
    environment,
    deployment,
    revision,
    mirrored: 0,
    dropped: 0,
    compared: 0,
    agreed: 0,
    numericElements: 0,
    absDiffSum: 0,
    primaryLatencySum: 0,
    shadowLatencySum: 0,
    primaryErrors: 0,
    shadowErrors: 0,
    ...values,
  };
}

/** A synthetic gateway: per-revision TargetStats and shadow counters, snapshotted on demand. */
export class SyntheticGateway {
  private stats = new Map<string, TargetStats>();
  shadows: ShadowCounters[] = [];
  /** When set, the next snapshot throws it (a gateway that cannot be reached). */
  failWith: Error | undefined;

  constructor(private readonly clock: () => number = Date.now) {}

  /** The stats of (environment, deployment, revision), created at zero. */
  target(environment: string, deployment: string, revision: number | ''): TargetStats {
    const key = `${environment}/${deployment}/${revision}`;
    let s = this.stats.get(key);
    if (s === undefined) {
      s = new TargetStats({ environment, deployment, revision: String(revision) });
      this.stats.set(key, s);
    }
    return s;
  }

  /** Records `n` responses with `code` taking `seconds` each. */
  record(
    revision: number,
    n: number,
    code = 200,
    seconds = 0.003,
    environment = 'production',
    deployment = 'risk',
  ): void {
    const t = this.target(environment, deployment, revision);
    for (let i = 0; i < n; i++) t.observe(code, seconds);
  }

  /** Forgets every counter: the gateway process restarted. */
  restart(): void {
    this.stats = new Map();
    this.shadows = [];
  }

  /** The snapshot provider. */
  readonly snapshot = (): GatewaySnapshot => {
    if (this.failWith) throw this.failWith;
    return {
      time: this.clock(),
      latencyBuckets: LATENCY_BUCKETS,
      revisions: [...this.stats.values()].map(revisionCounters),
      shadows: this.shadows.map((s) => ({ ...s })),
    };
  };
}

/** An HTTP server on port 0 answering every GET with `text` (changeable) as Prometheus exposition. */
export class ExpositionServer {
  text = '';
  /** When set, renders the body of scrape number n (1, 2, …) instead of `text`. */
  render: ((n: number) => string) | undefined;
  status = 200;
  /** When true, requests are accepted and never answered. */
  hang = false;
  scrapes = 0;
  private server: Server | undefined;

  /** Starts listening; resolves with the base URL. */
  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      this.scrapes++;
      if (this.hang) return;
      res.writeHead(this.status, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' });
      res.end(this.render ? this.render(this.scrapes) : this.text);
    });
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    this.server.close();
    await once(this.server, 'close');
  }
}
