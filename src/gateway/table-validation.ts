/**
 * Validates a route table that arrives as JSON (watch stream, `--routes` file) or from code, before
 * it is compiled. A table that breaks a rule is refused as a whole with a message naming the field
 * and the rule; the gateway then keeps the table it has.
 */
import { InvalidArgumentError } from '../core/errors.js';
import type { Backend, Route, RouteTable, RouteTarget } from './route-table.js';

/**
 * Checks `value` against the {@link RouteTable} shape and rules, and returns it typed.
 *
 * Rules: `version` a non-negative safe integer; one route per (environment, deployment), both
 * non-empty strings without `/`; target weights 0–100 (a route whose weights are all 0 gets no
 * traffic: 503); revisions distinct within a route; backend ids non-empty and URLs plain origins
 * (`http://host:port`), and one id never names two URLs.
 *
 * @throws InvalidArgumentError naming the first offending field, e.g. `routes[1].targets[0].weight`.
 */
export function parseRouteTable(value: unknown, what = 'route table'): RouteTable {
  const table = object(value, what);
  const version = table.version;
  if (typeof version !== 'number' || !Number.isSafeInteger(version) || version < 0) {
    fail(`${what}.version`, 'must be a non-negative integer', version);
  }
  const routes = array(table.routes, `${what}.routes`);
  const seenRoutes = new Set<string>();
  const urlById = new Map<string, string>();
  const parsed = routes.map((r, i) => parseRoute(r, `${what}.routes[${i}]`, urlById));
  for (const [i, route] of parsed.entries()) {
    const key = `${route.environment}/${route.deployment}`;
    if (seenRoutes.has(key)) fail(`${what}.routes[${i}]`, `duplicate route for environment '${route.environment}', deployment '${route.deployment}'`);
    seenRoutes.add(key);
  }
  return { version: version as number, routes: parsed };
}

function parseRoute(value: unknown, at: string, urlById: Map<string, string>): Route {
  const route = object(value, at);
  const environment = segment(route.environment, `${at}.environment`);
  const deployment = segment(route.deployment, `${at}.deployment`);
  const revisions = new Set<number>();
  const targets = array(route.targets, `${at}.targets`).map((t, i): RouteTarget => {
    const where = `${at}.targets[${i}]`;
    const target = object(t, where);
    const revision = target.revision;
    if (typeof revision !== 'number' || !Number.isSafeInteger(revision) || revision < 0) fail(`${where}.revision`, 'must be a non-negative integer', revision);
    if (revisions.has(revision as number)) fail(`${where}.revision`, `duplicate revision ${revision as number} in one route`);
    revisions.add(revision as number);
    const weight = target.weight;
    if (typeof weight !== 'number' || !Number.isFinite(weight) || weight < 0 || weight > 100) fail(`${where}.weight`, 'must be a number from 0 to 100', weight);
    const model = object(target.model, `${where}.model`);
    const name = text(model.name, `${where}.model.name`);
    const version = text(model.version, `${where}.model.version`);
    const backends = array(target.backends, `${where}.backends`).map((b, j) => parseBackend(b, `${where}.backends[${j}]`, urlById));
    return { revision: revision as number, weight: weight as number, model: { name, version }, backends };
  });
  return { environment, deployment, targets };
}

function parseBackend(value: unknown, at: string, urlById: Map<string, string>): Backend {
  const backend = object(value, at);
  const id = text(backend.id, `${at}.id`);
  const raw = text(backend.url, `${at}.url`);
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    fail(`${at}.url`, 'must be an absolute URL such as http://10.0.0.7:8000', raw);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') fail(`${at}.url`, 'must use http or https', raw);
  if ((url.pathname !== '/' && url.pathname !== '') || url.search !== '' || url.hash !== '' || url.username !== '' || url.password !== '') {
    fail(`${at}.url`, 'must be an origin (scheme, host and port) with no path, query or credentials', raw);
  }
  const known = urlById.get(id);
  if (known !== undefined && known !== url.origin) fail(`${at}.url`, `backend '${id}' already has URL ${known}`, raw);
  urlById.set(id, url.origin);
  return { id, url: url.origin };
}

function object(value: unknown, at: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(at, 'must be an object', value);
  return value as Record<string, unknown>;
}

function array(value: unknown, at: string): unknown[] {
  if (!Array.isArray(value)) fail(at, 'must be an array', value);
  return value as unknown[];
}

function text(value: unknown, at: string): string {
  if (typeof value !== 'string' || value === '') fail(at, 'must be a non-empty string', value);
  return value as string;
}

function segment(value: unknown, at: string): string {
  const s = text(value, at);
  if (s.includes('/')) fail(at, "must not contain '/'", s);
  return s;
}

function fail(at: string, rule: string, got?: unknown): never {
  const shown = got === undefined ? '' : `, got ${JSON.stringify(got)?.slice(0, 80) ?? String(got)}`;
  throw new InvalidArgumentError(`${at}: ${rule}${shown}`);
}
