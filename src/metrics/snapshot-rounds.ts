/**
 * The history of the built-in metrics source (`builtin-source.ts`) as rounds: what the gateways'
 * counters grew between two sampling rounds, per revision, shadow and deployment series. Builds a
 * round's increases from consecutive snapshots of one gateway (a counter that drops is a restart,
 * see `window-math.ts`), and compacts the history: past the retention it is dropped, and rounds
 * older than the full-resolution span are merged into coarse steps, which loses no counts.
 */
import type { GatewaySnapshot, RouteCounters } from '../protocol/gateway-snapshot.js';
import {
  addRevisionIncrease,
  addShadowIncrease,
  emptyRevisionIncrease,
  emptyShadowIncrease,
  isZeroRevisionIncrease,
  isZeroShadowIncrease,
  mergeRevisionIncrease,
  mergeShadowIncrease,
  type RevisionIncrease,
  type ShadowIncrease,
} from './window-math.js';

/** What grew during one round (or several merged ones), ending at `time`. */
export interface Round {
  time: number;
  readonly revisions: Map<string, RevisionIncrease>;
  readonly shadows: Map<string, ShadowIncrease>;
  /** Per deployment: arrivals (from route counters) and summed latency (from every revision). */
  readonly deployments: Map<string, DeploymentIncrease>;
}

/** What one deployment's counters grew in a round. */
export interface DeploymentIncrease {
  arrivals: number;
  latencySum: number;
  responses: number;
}

/** The key of one revision's series. */
export const seriesKey = (environment: string, deployment: string, revision: string | number) =>
  `${environment}\0${deployment}\0${revision}`;
/** The key of one deployment's series. */
export const deploymentKey = (environment: string, deployment: string) => `${environment}\0${deployment}`;

/**
 * Adds what grew from `older` to `newer` (one gateway's consecutive snapshots) into `round`:
 * revision series (their latency histogram only when both snapshots have `bounds`), route
 * arrivals (a gateway without route counters: its responses stand in), shadow series.
 */
export function addIncreases(
  round: Round,
  older: GatewaySnapshot,
  newer: GatewaySnapshot,
  bounds: readonly number[],
): void {
  const histogram =
    (older.revisions.length === 0 || sameBounds(older.latencyBuckets, bounds)) &&
    sameBounds(newer.latencyBuckets, bounds);
  const olderRevisions = new Map(older.revisions.map((r) => [seriesKey(r.environment, r.deployment, r.revision), r]));
  for (const r of newer.revisions) {
    const key = seriesKey(r.environment, r.deployment, r.revision);
    const d = emptyRevisionIncrease(bounds.length);
    addRevisionIncrease(d, olderRevisions.get(key), r);
    if (isZeroRevisionIncrease(d)) continue;
    if (!histogram) {
      d.buckets.fill(0);
      d.latencySum = 0;
      d.count = 0;
    }
    addDeploymentIncrease(round, deploymentKey(r.environment, r.deployment), {
      arrivals: 0,
      latencySum: d.latencySum,
      responses: d.count,
    });
    const into = round.revisions.get(key);
    if (into === undefined) round.revisions.set(key, d);
    else mergeRevisionIncrease(into, d);
  }
  const olderRoutes = new Map((older.routes ?? []).map((r) => [deploymentKey(r.environment, r.deployment), r]));
  for (const r of newer.routes ?? []) {
    const key = deploymentKey(r.environment, r.deployment);
    const arrivals = routeArrivals(olderRoutes.get(key), r);
    if (arrivals > 0) addDeploymentIncrease(round, key, { arrivals, latencySum: 0, responses: 0 });
  }
  // A gateway that reports no route counters: its responses stand in for arrivals.
  if (newer.routes === undefined) {
    for (const d of round.deployments.values()) d.arrivals = Math.max(d.arrivals, d.responses);
  }
  const olderShadows = new Map(older.shadows.map((s) => [seriesKey(s.environment, s.deployment, s.revision), s]));
  for (const s of newer.shadows) {
    const key = seriesKey(s.environment, s.deployment, s.revision);
    const d = emptyShadowIncrease();
    addShadowIncrease(d, olderShadows.get(key), s);
    if (isZeroShadowIncrease(d)) continue;
    const into = round.shadows.get(key);
    if (into === undefined) round.shadows.set(key, d);
    else mergeShadowIncrease(into, d);
  }
}

/**
 * Drops history past `retentionMs` and merges rounds older than `fullResolutionMs` into steps of
 * `coarseResolutionMs`. Rounds before index `settled` are already merged; returns the new index.
 */
export function compactRounds(
  rounds: Round[],
  settledBefore: number,
  now: number,
  options: { retentionMs: number; fullResolutionMs: number; coarseResolutionMs: number },
): number {
  let settled = settledBefore;
  // Keep one round at or before the retention cutoff: it is the start of the longest window.
  const drop = lastAtOrBefore(rounds, now - options.retentionMs);
  if (drop > 0) {
    rounds.splice(0, drop);
    settled = Math.max(0, settled - drop);
  }
  // Merging round k−1 into round k removes the boundary at k−1's time; that is allowed while
  // the span it leaves (from round k−2 to round k) is at most one coarse step.
  const cutoff = now - options.fullResolutionMs;
  while (settled < rounds.length && rounds[settled]!.time < cutoff) {
    const k = settled;
    if (k >= 2 && rounds[k]!.time - rounds[k - 2]!.time <= options.coarseResolutionMs) {
      mergeRound(rounds[k]!, rounds[k - 1]!);
      rounds.splice(k - 1, 1);
    } else {
      settled++;
    }
  }
  return settled;
}

/** Arrivals of a route between two samples; a decrease is a gateway restart (all of `newer` is growth). */
function routeArrivals(older: RouteCounters | undefined, newer: RouteCounters): number {
  if (older === undefined || newer.arrivals < older.arrivals) return newer.arrivals;
  return newer.arrivals - older.arrivals;
}

function addDeploymentIncrease(round: Round, key: string, d: DeploymentIncrease): void {
  const into = round.deployments.get(key);
  if (into === undefined) {
    round.deployments.set(key, { ...d });
    return;
  }
  into.arrivals += d.arrivals;
  into.latencySum += d.latencySum;
  into.responses += d.responses;
}

/** Adds `older`'s increases into `newer` (which keeps its later time). */
function mergeRound(newer: Round, older: Round): void {
  for (const [key, d] of older.deployments) addDeploymentIncrease(newer, key, d);
  for (const [key, d] of older.revisions) {
    const into = newer.revisions.get(key);
    if (into === undefined) newer.revisions.set(key, d);
    else mergeRevisionIncrease(into, d);
  }
  for (const [key, d] of older.shadows) {
    const into = newer.shadows.get(key);
    if (into === undefined) newer.shadows.set(key, d);
    else mergeShadowIncrease(into, d);
  }
}

/** Index of the last round with time ≤ t, or -1. Rounds are in time order. */
export function lastAtOrBefore(rounds: readonly Round[], t: number): number {
  let lo = 0;
  let hi = rounds.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (rounds[mid]!.time <= t) {
      found = mid;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  return found;
}

function sameBounds(a: readonly number[], b: readonly number[]): boolean {
  return a === b || (a.length === b.length && a.every((x, i) => x === b[i]));
}
