/**
 * Finds the route of a request in a compiled table: by the `Host` header for application routes
 * (`<deployment>.<environment>.<domain>`: the whole path is forwarded), else by the
 * `/<environment>/<deployment>` prefix of the path (the remainder is forwarded).
 */
import type { CompiledRoute, CompiledTable } from './compiled-table.js';
import { routeBasePath } from '../protocol/route-table.js';

/**
 * The application route whose host name is `host` (a `Host` header: any port and a trailing dot
 * ignored, case-insensitive); undefined when the table has none. Costs nothing for a table without
 * application routes.
 *
 * @example hostRoute(table, 'api.production.localhost:8080')
 */
export function hostRoute(table: CompiledTable, host: string | undefined): CompiledRoute | undefined {
  if (host === undefined || table.hosts.size === 0) return undefined;
  const colon = host.lastIndexOf(':');
  // `[::1]:8080`: a port follows the bracket; an IP literal never names a route anyway.
  let name = colon === -1 || host.charCodeAt(0) === 0x5b /* [ */ ? host : host.slice(0, colon);
  if (name.endsWith('.')) name = name.slice(0, -1);
  return table.hosts.get(name) ?? table.hosts.get(name.toLowerCase());
}

/**
 * Where the `/<environment>/<deployment>` prefix of a request target ends: the index of the `/` that
 * starts the forwarded remainder, or `url.length` when there is none. -1 when the target does not
 * have two non-empty leading segments.
 *
 * @example routeEnd('/prod/readmission/v2/health/ready') === 17
 */
export function routeEnd(url: string): number {
  if (url.charCodeAt(0) !== 0x2f /* / */) return -1;
  const second = url.indexOf('/', 1);
  if (second <= 1) return -1;
  const third = url.indexOf('/', second + 1);
  if (third === second + 1) return -1;
  return third === -1 ? url.length : third;
}

/**
 * Finds the route for a prefix. The fast path is an exact match on the prefix as the client sent
 * it; only on a miss is it decoded and re-encoded the way the table encodes it (so `%2D` finds `-`).
 */
export function findRoute(table: CompiledTable, prefix: string): CompiledRoute | undefined {
  const exact = table.routes.get(prefix);
  if (exact !== undefined) return exact;
  const parts = decodePrefix(prefix);
  return parts ? table.routes.get(routeBasePath(parts.environment, parts.deployment)) : undefined;
}

/** `/<environment>/<deployment>` decoded, or undefined when it is not two decodable segments. */
export function decodePrefix(prefix: string): { environment: string; deployment: string } | undefined {
  const q = prefix.indexOf('?');
  const path = q === -1 ? prefix : prefix.slice(0, q);
  const parts = path.split('/');
  if (parts.length !== 3 || !parts[1] || !parts[2]) return undefined;
  try {
    return { environment: decodeURIComponent(parts[1]), deployment: decodeURIComponent(parts[2]) };
  } catch {
    return undefined;
  }
}

/**
 * What an application's replica gets as its path for a request target whose route prefix ends at
 * `end` (see {@link routeEnd}): the remainder, or `/` (with the query) for the prefix alone, also
 * when a query holding a `/` made `end` fall inside it.
 *
 * @example applicationPath('/prod/api?q=1', 9) === '/?q=1'
 */
export function applicationPath(url: string, end: number): string {
  const q = url.indexOf('?');
  if (q !== -1 && q < end) return `/${url.slice(q)}`;
  return end === url.length ? '/' : url.slice(end);
}
