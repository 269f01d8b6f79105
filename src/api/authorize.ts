/**
 * Authorization at the API's edge: after authentication has put the caller in the request context
 * (`core/request-context.ts`) and before the route's own validation, this middleware finds the
 * matched route in {@link ROUTE_ACCESS}, reads the environment the route is about (path, query or
 * body, as the table says) and asks the Authorizer. It refuses with 401 when no credential was
 * presented, 403 `{"error": {"code": "PERMISSION_DENIED", "message"}}` when the caller's roles do
 * not grant the permission there, and 403 for a route the table does not list (deny by default).
 * Routes whose table entry says `handler` are checked here "in some environment" and again by
 * their handler once it knows where the change lands.
 *
 * @example
 *   app.use('*', authenticate(...));   // enters requestContext
 *   app.use('*', authorize(authorizer));
 */
import type { Context, MiddlewareHandler } from 'hono';
import { matchedRoutes } from 'hono/route';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { PermissionDeniedError } from '../core/errors.js';
import { currentRequest } from '../core/request-context.js';
import type { Authorizer } from '../services/access/authorizer.js';
import { toApiError } from './errors.js';
import { openApiPath, ROUTE_ACCESS, type RouteAccess, routeAccessOf } from './route-access.js';

/** A route as Hono matched it. */
interface MatchedRoute {
  method: string;
  path: string;
}

/** The key of a route in {@link ROUTE_ACCESS}: `METHOD /path/{param}`. */
export function routeAccessKey(method: string, path: string): string {
  return `${method.toUpperCase()} ${openApiPath(path)}`;
}

/** The route that answers: the last matched one that is not a middleware (`ALL`). */
function answeringRoute(c: Context): MatchedRoute | undefined {
  const routes = matchedRoutes(c) as MatchedRoute[];
  for (let i = routes.length - 1; i >= 0; i -= 1) if (routes[i]!.method !== 'ALL') return routes[i];
  return undefined;
}

/** The value of path parameter `name` of `routePath` in `path`, decoded; undefined when absent. */
function pathParam(routePath: string, path: string, name: string): string | undefined {
  const names: string[] = [];
  const pattern = openApiPath(routePath)
    .split(/(\{\w+\})/)
    .map((part) => {
      const m = /^\{(\w+)\}$/.exec(part);
      if (m === null) return part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      names.push(m[1]!);
      return '([^/]+)';
    })
    .join('');
  const match = new RegExp(`^${pattern}/?$`).exec(path);
  const raw = match?.[names.indexOf(name) + 1];
  if (raw === undefined || !names.includes(name)) return undefined;
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

/** The environment the permission is checked in, per the route's table entry; undefined = any. */
async function environmentOf(c: Context, route: MatchedRoute, access: RouteAccess): Promise<string | undefined> {
  const field = access.field ?? 'environment';
  switch (access.environment) {
    case 'param':
      return pathParam(route.path, c.req.path, field);
    case 'query':
      return c.req.query(field) || undefined;
    case 'body': {
      // The JSON body is parsed once and cached by Hono, so the route's validator reads it again.
      // An unreadable body leaves "any environment": the route's validator then refuses it.
      const body: unknown = await c.req.json().catch(() => undefined);
      const value = typeof body === 'object' && body !== null ? (body as Record<string, unknown>)[field] : undefined;
      return typeof value === 'string' && value !== '' ? value : undefined;
    }
    default:
      return undefined;
  }
}

const refuse = (c: Context, error: Error, headers: Record<string, string> = {}) => {
  const { status, body } = toApiError(error);
  return c.json(body, status as ContentfulStatusCode, headers);
};

const unauthenticated = (c: Context) =>
  c.json(
    {
      error: {
        code: 'UNAUTHENTICATED',
        message:
          'this endpoint needs a credential: send "Authorization: Bearer <token>" (the admin token of `wharf up` is in $WHARF_HOME/credentials)',
      },
    },
    401,
    { 'www-authenticate': 'Bearer realm="wharf"' },
  );

/** The middleware; `table` is {@link ROUTE_ACCESS} except in tests. */
export function authorize(
  authorizer: Authorizer,
  table: Readonly<Record<string, RouteAccess>> = ROUTE_ACCESS,
): MiddlewareHandler {
  return async (c, next) => {
    const route = answeringRoute(c);
    const principal = currentRequest()?.principal;
    if (route === undefined) {
      // No such endpoint: 404 or 405 follows, but only for a caller with a credential.
      return principal === undefined ? unauthenticated(c) : next();
    }
    const key = routeAccessKey(route.method, route.path);
    const access = routeAccessOf(key, table);
    if (access?.permission === 'public') return next();
    if (principal === undefined) return unauthenticated(c);
    if (access === undefined)
      return refuse(c, new PermissionDeniedError(`permission denied: ${key} has no access rule, so it is refused`));
    if (access.permission === 'authenticated') return next();
    const environment = await environmentOf(c, route, access);
    const decision = await authorizer.decide(principal, access.permission, { environment });
    if (!decision.allowed) return refuse(c, new PermissionDeniedError(`permission denied: ${decision.reason}`));
    return next();
  };
}
