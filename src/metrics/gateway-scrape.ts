/**
 * A snapshot provider for gateways in other processes: fetch `<url>/metrics` and rebuild a
 * {@link GatewaySnapshot} from the exposition, so the built-in source can sum remote gateways the
 * same way it reads one in this process. Only the per-revision request counters, the latency
 * histogram, the shadow counters and the per-route gauges and counters (for the autoscaler) are
 * read; every other family is ignored. Ejection events are not in the exposition, so a scraped
 * snapshot has no `ejections`.
 */
import { request } from 'undici';
import { UnavailableError } from '../core/errors.js';
import type { GatewaySnapshot, RevisionCounters, RouteCounters, ShadowCounters } from '../protocol/gateway-snapshot.js';
import {
  REQUEST_DURATION,
  REQUESTS_TOTAL,
  type RouteCounterField,
  ROUTE_METRIC_NAMES,
  SHADOW_METRIC_NAMES,
} from '../protocol/metric-names.js';
import { type ExpositionSample, parseExposition } from './exposition-parser.js';
import { emptyShadowIncrease, SHADOW_FIELDS, type ShadowField } from './window-math.js';

/** Options of {@link scrapeGatewaySnapshot}. */
export interface ScrapeOptions {
  /** Time for the whole exchange; default 2000 ms. */
  timeoutMs?: number;
  /** Milliseconds since the epoch, for the snapshot's `time`; `Date.now` by default. */
  clock?: () => number;
}

/**
 * Fetches `<url>/metrics` and returns the gateway's counters. Throws an {@link UnavailableError}
 * when the gateway cannot be reached, answers non-200 or times out, and an InvalidArgumentError
 * when the text is not an exposition.
 *
 * @example
 *   const source = new BuiltinMetricsSource({ providers: urls.map((u) => () => scrapeGatewaySnapshot(u)) });
 */
export async function scrapeGatewaySnapshot(url: string, options: ScrapeOptions = {}): Promise<GatewaySnapshot> {
  const timeoutMs = options.timeoutMs ?? 2000;
  const target = `${url.replace(/\/+$/, '')}/metrics`;
  let text: string;
  try {
    const res = await request(target, {
      signal: AbortSignal.timeout(timeoutMs),
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    });
    text = await res.body.text();
    if (res.statusCode !== 200)
      throw new UnavailableError(`${target}: answered ${res.statusCode}: ${text.slice(0, 200)}`);
  } catch (error) {
    if (error instanceof UnavailableError) throw error;
    const e = error as Error & { code?: string };
    const why = e.name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : (e.code ?? e.message);
    throw new UnavailableError(`${target}: ${why}`, { cause: error });
  }
  return snapshotFromExposition(parseExposition(text), (options.clock ?? Date.now)());
}

/** Builds a snapshot from parsed exposition samples (pure; exported for tests). */
export function snapshotFromExposition(samples: readonly ExpositionSample[], time: number): GatewaySnapshot {
  const bounds = new Set<number>();
  for (const s of samples) {
    if (s.name === `${REQUEST_DURATION}_bucket` && s.labels.le !== undefined && s.labels.le !== '+Inf')
      bounds.add(Number(s.labels.le));
  }
  const latencyBuckets = [...bounds].sort((a, b) => a - b);
  const revisions = new Map<
    string,
    { labels: Key; codes: Record<string, number>; buckets: number[]; latencySum: number; count: number }
  >();
  const revisionOf = (labels: Readonly<Record<string, string>>) => {
    const key = keyOf(labels);
    let r = revisions.get(key.id);
    if (r === undefined) {
      r = {
        labels: key,
        codes: {},
        buckets: new Array<number>(latencyBuckets.length + 1).fill(0),
        latencySum: 0,
        count: 0,
      };
      revisions.set(key.id, r);
    }
    return r;
  };
  const shadows = new Map<string, { labels: Key; values: Record<ShadowField, number> }>();
  const shadowByName = new Map<string, ShadowField>(SHADOW_FIELDS.map((f) => [SHADOW_METRIC_NAMES[f], f]));
  const routes = new Map<string, { -readonly [K in keyof RouteCounters]: RouteCounters[K] }>();
  const routeFieldByName = new Map<string, RouteCounterField>(
    (Object.entries(ROUTE_METRIC_NAMES) as [RouteCounterField, string][]).map(([field, name]) => [name, field]),
  );

  for (const s of samples) {
    if (s.name === REQUESTS_TOTAL && s.labels.code !== undefined) {
      const r = revisionOf(s.labels);
      r.codes[s.labels.code] = (r.codes[s.labels.code] ?? 0) + s.value;
    } else if (s.name === `${REQUEST_DURATION}_bucket` && s.labels.le !== undefined) {
      const i = s.labels.le === '+Inf' ? latencyBuckets.length : latencyBuckets.indexOf(Number(s.labels.le));
      revisionOf(s.labels).buckets[i] = s.value;
    } else if (s.name === `${REQUEST_DURATION}_sum`) {
      revisionOf(s.labels).latencySum = s.value;
    } else if (s.name === `${REQUEST_DURATION}_count`) {
      revisionOf(s.labels).count = s.value;
    } else if (routeFieldByName.has(s.name)) {
      const environment = s.labels.environment ?? '';
      const deployment = s.labels.deployment ?? '';
      const id = `${environment}\0${deployment}`;
      let r = routes.get(id);
      if (r === undefined) {
        r = { environment, deployment, inFlight: 0, held: 0, heldTotal: 0, holdRejected: 0, arrivals: 0 };
        routes.set(id, r);
      }
      r[routeFieldByName.get(s.name)!] = s.value;
    } else {
      const field = shadowByName.get(s.name);
      if (field === undefined) continue;
      const key = keyOf(s.labels);
      let sh = shadows.get(key.id);
      if (sh === undefined) {
        sh = { labels: key, values: emptyShadowIncrease() };
        shadows.set(key.id, sh);
      }
      sh.values[field] = s.value;
    }
  }

  return {
    time,
    latencyBuckets,
    revisions: [...revisions.values()].map((r): RevisionCounters => ({
      environment: r.labels.environment,
      deployment: r.labels.deployment,
      revision: r.labels.revision,
      codes: r.codes,
      buckets: r.buckets,
      latencySum: r.latencySum,
      count: r.count,
    })),
    shadows: [...shadows.values()]
      .filter((s) => /^\d+$/.test(s.labels.revision))
      .map((s): ShadowCounters => ({
        environment: s.labels.environment,
        deployment: s.labels.deployment,
        revision: Number(s.labels.revision),
        ...s.values,
      })),
    // As in the gateway's own snapshot: only routes that have had traffic.
    routes: [...routes.values()].filter((r) => r.arrivals > 0),
  };
}

interface Key {
  readonly id: string;
  readonly environment: string;
  readonly deployment: string;
  readonly revision: string;
}

function keyOf(labels: Readonly<Record<string, string>>): Key {
  const environment = labels.environment ?? '';
  const deployment = labels.deployment ?? '';
  const revision = labels.revision ?? '';
  return { id: `${environment}\0${deployment}\0${revision}`, environment, deployment, revision };
}
