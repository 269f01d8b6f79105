/**
 * Which methods a path accepts, from the app's registered routes: what a 405 lists in `Allow`.
 * Middleware (registered for every method) does not count; HEAD comes with GET, as Hono serves it.
 */

/** A registered route as Hono lists it (`app.routes`). */
export interface RegisteredRoute {
  readonly method: string;
  readonly path: string;
}

const patterns = new WeakMap<
  readonly RegisteredRoute[],
  { count: number; routes: { method: string; pattern: RegExp }[] }
>();

/** Hono's `/a/:name/b` or `/a/*` as a regular expression over a request path. */
function patternOf(path: string): RegExp {
  const source = path
    .split('/')
    .map((segment) =>
      segment === '*' ? '.*' : segment.startsWith(':') ? '[^/]+' : segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'),
    )
    .join('/');
  return new RegExp(`^${source}/?$`);
}

/** The methods routes accept at `path`, sorted; empty when no route has the path. */
export function allowedMethods(routes: readonly RegisteredRoute[], path: string): string[] {
  let compiled = patterns.get(routes);
  if (compiled === undefined || compiled.count !== routes.length) {
    compiled = {
      count: routes.length,
      routes: routes.filter((r) => r.method !== 'ALL').map((r) => ({ method: r.method, pattern: patternOf(r.path) })),
    };
    patterns.set(routes, compiled);
  }
  const methods = new Set(compiled.routes.filter((r) => r.pattern.test(path)).map((r) => r.method));
  if (methods.has('GET')) methods.add('HEAD');
  return [...methods].sort();
}
