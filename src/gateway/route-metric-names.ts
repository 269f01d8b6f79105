/**
 * Prometheus names of the gateway's per-route gauges and counters and of its ejection families,
 * shared by the exporter (metrics.ts) and the scraper of remote gateways
 * (`src/metrics/gateway-scrape.ts`). Route series carry `environment` and `deployment`; ejection
 * series also `revision` (and `reason` for the counter).
 */
import type { RouteCounters } from './gateway-snapshot.js';

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

/** Ejections by environment, deployment, revision and reason (`5xx`, `timeout`, `connect`). */
export const EJECTIONS_TOTAL = 'wharf_gateway_ejections_total';

/** Backends ejected and not readmitted yet, by environment, deployment and revision. */
export const EJECTED_BACKENDS = 'wharf_gateway_ejected_backends';
