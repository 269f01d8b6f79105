/**
 * Adds the disaster-recovery reference to compiled routes: a route of a deployment in an
 * environment that another one stands in for (`failoverFor`) gets `failover` naming the route of
 * the same deployment there, when that route exists. Pure; kept apart from route-compiler.ts so
 * that the compiler stays about one deployment at a time.
 */
import { failoverPairs, type FailoverEnvironment } from '../../core/failover.js';
import type { Route } from '../../protocol/route-table.js';

/** `routes` with `failover` set where a stand-in route exists; other routes unchanged. */
export function withFailover(routes: readonly Route[], environments: readonly FailoverEnvironment[]): Route[] {
  const pairs = failoverPairs(environments);
  if (pairs.size === 0) return [...routes];
  const present = new Set(routes.map((r) => `${r.environment}/${r.deployment}`));
  return routes.map((r) => {
    const standIn = pairs.get(r.environment);
    if (standIn === undefined || !present.has(`${standIn}/${r.deployment}`)) return r;
    return { ...r, failover: { environment: standIn, deployment: r.deployment } };
  });
}

/** Whether the route (of a primary environment) sends its traffic to its stand-in: it has no backend. */
export function isFailedOver(route: Route): boolean {
  // A route that holds (scale to zero) and has no backend is scaled to zero; gateways hold, not fail over.
  return (
    route.failover !== undefined && route.hold === undefined && route.targets.every((t) => t.backends.length === 0)
  );
}
