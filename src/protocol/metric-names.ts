/**
 * Prometheus names of the gateway's request, shadow and per-route families: metrics.ts exports
 * them under these names, and readers of a gateway's exposition (`src/metrics/gateway-scrape.ts`,
 * the PromQL of `src/metrics/prometheus-source.ts`) find them by the same ones. Per-revision and
 * shadow series carry `environment`, `deployment` and `revision` (requests also `code`, buckets
 * also `le`); route series carry `environment` and `deployment`.
 */
import type { RouteCounters, ShadowCounters } from './gateway-snapshot.js';

/** Responses by environment, deployment, revision and status code. */
export const REQUESTS_TOTAL = 'wharf_gateway_requests_total';

/** The latency histogram's base name (`_bucket`, `_sum`, `_count` are added). */
export const REQUEST_DURATION = 'wharf_gateway_request_duration_seconds';

/** The numeric fields of {@link ShadowCounters}. */
export type ShadowCounterField = Exclude<keyof ShadowCounters, 'environment' | 'deployment' | 'revision'>;

/** Shadow counter names, by the {@link ShadowCounters} field each one holds. */
export const SHADOW_METRIC_NAMES: Readonly<Record<ShadowCounterField, string>> = {
  mirrored: 'wharf_gateway_shadow_mirrored_total',
  dropped: 'wharf_gateway_shadow_dropped_total',
  compared: 'wharf_gateway_shadow_compared_total',
  agreed: 'wharf_gateway_shadow_agreed_total',
  numericElements: 'wharf_gateway_shadow_numeric_elements_total',
  absDiffSum: 'wharf_gateway_shadow_absolute_difference_total',
  primaryLatencySum: 'wharf_gateway_shadow_primary_latency_seconds_total',
  shadowLatencySum: 'wharf_gateway_shadow_latency_seconds_total',
  primaryErrors: 'wharf_gateway_shadow_primary_errors_total',
  shadowErrors: 'wharf_gateway_shadow_errors_total',
};

/** The numeric fields of {@link RouteCounters}. */
export type RouteCounterField = Exclude<keyof RouteCounters, 'environment' | 'deployment'>;

/** Route family names, by the {@link RouteCounters} field each one holds. */
export const ROUTE_METRIC_NAMES: Readonly<Record<RouteCounterField, string>> = {
  inFlight: 'wharf_gateway_route_in_flight',
  held: 'wharf_gateway_route_held',
  arrivals: 'wharf_gateway_route_arrivals_total',
  heldTotal: 'wharf_gateway_route_held_total',
  holdRejected: 'wharf_gateway_route_hold_rejected_total',
};

/** Requests refused by a protected route's token check, by environment, deployment and `reason` (missing, malformed, invalid, expired, forbidden). */
export const AUTH_DENIED_TOTAL = 'wharf_gateway_auth_denied_total';

/** Requests answered 429 by a route's rate limit, by environment and deployment. */
export const RATE_LIMITED_TOTAL = 'wharf_gateway_rate_limited_total';
