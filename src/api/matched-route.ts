/**
 * The route a request matched, as registered (`POST /api/v1/deployments`,
 * `GET /api/v1/environments/:environment/deployments/:name`), seen from a middleware that runs
 * before it: the key of the route-access table.
 */
import type { Context } from 'hono';

/** `METHOD path` of the route that will handle the request, or undefined when none matched (a 404 or 405). */
export function matchedRouteKey(c: Context): string | undefined {
  // Middleware registered with `use` shows as method ALL; the last other match is the handler.
  const routes = c.req.matchedRoutes;
  for (let i = routes.length - 1; i >= 0; i--) {
    const r = routes[i]!;
    if (r.method !== 'ALL') return `${r.method} ${r.path}`;
  }
  return undefined;
}
