/**
 * Health-based failover to a disaster-recovery environment (see `RouteFailover`). The decision is
 * the gateway's own, per request, from what it knows without the control plane: a route whose
 * targets have no backend it may use now (none in the table, or every one ejected by its outlier
 * detection) sends the request to its stand-in route, if that one has a usable backend. As soon as
 * a backend of the route is usable again (a new table, or an ejection that ran out), traffic is
 * back: an ejection's end admits one request to probe it, like any ejected replica. A route that
 * scales to zero holds its requests while it has no backend instead (see `RouteHold`).
 */
import type { CompiledRoute, CompiledTable } from './compiled-table.js';
import type { UpstreamBackend } from './upstream-pool.js';

/** The response header that says a request was served by the stand-in environment. */
export const FAILOVER_HEADER = 'x-wharf-failover';

/**
 * Whether some target of `route` has a backend that is not ejected at `now` (`performance.now()`)
 * and is not one of `failed` (those this request already tried: a reset connection ejects nobody,
 * yet a request should not wait for the ejection to learn that its replicas are gone).
 */
export function hasUsableBackend(
  route: CompiledRoute,
  now: number,
  failed: readonly UpstreamBackend[] = NONE,
): boolean {
  for (const target of route.targets)
    for (const backend of target.backends) if (backend.ejectedUntil <= now && !failed.includes(backend)) return true;
  return false;
}

const NONE: readonly UpstreamBackend[] = [];

/**
 * The stand-in route to use instead of `route` at `now`, or undefined to stay on `route` (it has a
 * usable backend, it has no stand-in, or the stand-in has no usable backend either).
 */
export function failoverRoute(
  table: CompiledTable,
  route: CompiledRoute,
  now: number,
  failed: readonly UpstreamBackend[] = NONE,
): CompiledRoute | undefined {
  if (route.failoverPrefix === undefined || hasUsableBackend(route, now, failed)) return undefined;
  // A route that may scale to zero and has no backend is scaled to zero, not down: its hold queue
  // wakes it (sending its demand to the stand-in would keep it at zero for good).
  if (route.hold !== undefined && route.targets.length === 0) return undefined;
  const standIn = table.routes.get(route.failoverPrefix);
  return standIn !== undefined && hasUsableBackend(standIn, now) ? standIn : undefined;
}
