/**
 * The Prometheus names of the gateway's per-revision and shadow counters, as `src/gateway/metrics.ts`
 * exports them. The scraper and the PromQL queries both read these; every series carries the labels
 * `environment`, `deployment` and `revision` (requests also `code`, buckets also `le`).
 */
import type { ShadowField } from './window-math.js';

/** Responses by environment, deployment, revision and status code. */
export const REQUESTS_TOTAL = 'wharf_gateway_requests_total';

/** The latency histogram's base name (`_bucket`, `_sum`, `_count` are added). */
export const REQUEST_DURATION = 'wharf_gateway_request_duration_seconds';

/** Shadow counter names, by the {@link ShadowCounters} field each one holds. */
export const SHADOW_METRIC_NAMES: Readonly<Record<ShadowField, string>> = {
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
