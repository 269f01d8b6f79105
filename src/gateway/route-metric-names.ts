/**
 * Prometheus names of the gateway's per-route gauges and counters, for readers of a gateway's
 * exposition (`src/metrics/gateway-scrape.ts`, PromQL). metrics.ts spells them out where it
 * exports them; the scrape test reads back what it renders, so the two cannot drift apart
 * unnoticed. Every series carries `environment` and `deployment`.
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

