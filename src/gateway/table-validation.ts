/**
 * Validates a route table that arrives as JSON (watch stream, `--routes` file) or from code, before
 * it is compiled. A table that breaks a rule is refused as a whole with a message naming the field
 * and the rule; the gateway then keeps the table it has.
 */
import { array, choice, fail, integer, object, segment, text } from './table-fields.js';
import type {
  Backend,
  Route,
  RouteHold,
  RouteKind,
  RouteProtocol,
  RouteMatch,
  RouteMirror,
  RouteAuth,
  RouteOutlierDetection,
  RouteRateLimit,
  RouteSticky,
  RouteTable,
  RouteTarget,
} from '../protocol/route-table.js';

/**
 * Checks `value` against the {@link RouteTable} shape and rules, and returns it typed.
 *
 * Rules: `version` a non-negative safe integer; one route per (environment, deployment), both
 * non-empty strings without `/`; target weights 0–100 (a route whose weights are all 0 gets no
 * traffic: 503); revisions distinct within a route; backend ids non-empty and URLs plain origins
 * (`http://host:port`), and one id never names two URLs. Rollout rules (optional): every `matches[i]`
 * and the `mirror` name a revision of one of the route's targets; a match or a sticky key has
 * exactly one of `header` and `cookie`, whose names are HTTP tokens; `mirror.percent` 0–100 and
 * `mirror.tolerance` a finite number ≥ 0, `mirror.methods` upper-case method names. `kind` (optional)
 * `model` or `application`, `protocol` (optional) `oip` or `http`. A target with weight 0 is allowed: it can still be a
 * match or mirror target (or a blue-green preview reached by a match). Scale from zero and
 * ejection (optional): `hold.queue` an integer 1–10,000 and `hold.timeoutMs` 1–600,000; see
 * {@link parseOutlierDetection} for `outlierDetection`. Access (optional): `auth.tokens` a list of
 * `{ id, hash, expiresAt }` with distinct ids (1–64 of `a-z 0-9`), hashes of 64 lowercase hex digits
 * and `expiresAt` an ISO time or null; `rateLimit.requestsPerSecond` above 0 and at most 1,000,000,
 * `rateLimit.burst` an integer 1–1,000,000, `rateLimit.per` `token` or `client`.
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
    if (seenRoutes.has(key))
      fail(
        `${what}.routes[${i}]`,
        `duplicate route for environment '${route.environment}', deployment '${route.deployment}'`,
      );
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
    if (typeof revision !== 'number' || !Number.isSafeInteger(revision) || revision < 0)
      fail(`${where}.revision`, 'must be a non-negative integer', revision);
    if (revisions.has(revision as number))
      fail(`${where}.revision`, `duplicate revision ${revision as number} in one route`);
    revisions.add(revision as number);
    const weight = target.weight;
    if (typeof weight !== 'number' || !Number.isFinite(weight) || weight < 0 || weight > 100)
      fail(`${where}.weight`, 'must be a number from 0 to 100', weight);
    const model = object(target.model, `${where}.model`);
    const name = text(model.name, `${where}.model.name`);
    const version = text(model.version, `${where}.model.version`);
    const backends = array(target.backends, `${where}.backends`).map((b, j) =>
      parseBackend(b, `${where}.backends[${j}]`, urlById),
    );
    return { revision: revision as number, weight: weight as number, model: { name, version }, backends };
  });
  const parsed: { -readonly [K in keyof Route]: Route[K] } = { environment, deployment, targets };
  if (route.kind !== undefined) parsed.kind = choice<RouteKind>(route.kind, `${at}.kind`, ['model', 'application']);
  if (route.protocol !== undefined)
    parsed.protocol = choice<RouteProtocol>(route.protocol, `${at}.protocol`, ['oip', 'http']);
  const known = targets.map((t) => t.revision);
  if (route.matches !== undefined) {
    parsed.matches = array(route.matches, `${at}.matches`).map((m, i) => parseMatch(m, `${at}.matches[${i}]`, known));
  }
  if (route.sticky !== undefined) parsed.sticky = parseSticky(route.sticky, `${at}.sticky`);
  if (route.mirror !== undefined) parsed.mirror = parseMirror(route.mirror, `${at}.mirror`, known);
  if (route.hold !== undefined) parsed.hold = parseHold(route.hold, `${at}.hold`);
  if (route.outlierDetection !== undefined)
    parsed.outlierDetection = parseOutlierDetection(route.outlierDetection, `${at}.outlierDetection`);
  if (route.auth !== undefined) parsed.auth = parseAuth(route.auth, `${at}.auth`);
  if (route.rateLimit !== undefined) parsed.rateLimit = parseRateLimit(route.rateLimit, `${at}.rateLimit`);
  return parsed;
}

const TOKEN_ID = /^[a-z0-9]{1,64}$/;
const SHA256_HEX = /^[0-9a-f]{64}$/;

function parseAuth(value: unknown, at: string): RouteAuth {
  const auth = object(value, at);
  const seen = new Set<string>();
  const tokens = array(auth.tokens, `${at}.tokens`).map((t, i) => {
    const where = `${at}.tokens[${i}]`;
    const token = object(t, where);
    const id = token.id;
    if (typeof id !== 'string' || !TOKEN_ID.test(id))
      fail(`${where}.id`, 'must be 1-64 lowercase letters and digits', id);
    if (seen.has(id as string)) fail(`${where}.id`, `duplicate token id '${id as string}'`);
    seen.add(id as string);
    // The hash is not echoed: it is not a secret, but there is no reason to repeat it in logs either.
    if (typeof token.hash !== 'string' || !SHA256_HEX.test(token.hash))
      fail(`${where}.hash`, 'must be a hex SHA-256 (64 lowercase hex digits)');
    const expiresAt = token.expiresAt;
    if (expiresAt !== null && (typeof expiresAt !== 'string' || Number.isNaN(Date.parse(expiresAt))))
      fail(`${where}.expiresAt`, 'must be an ISO time or null', expiresAt);
    return { id: id as string, hash: token.hash as string, expiresAt: expiresAt as string | null };
  });
  return { tokens };
}

function parseRateLimit(value: unknown, at: string): RouteRateLimit {
  const limit = object(value, at);
  const rate = limit.requestsPerSecond;
  if (typeof rate !== 'number' || !Number.isFinite(rate) || rate <= 0 || rate > 1_000_000)
    fail(`${at}.requestsPerSecond`, 'must be a number above 0 and at most 1000000', rate);
  const burst = integer(limit.burst, `${at}.burst`, 1, 1_000_000);
  if (limit.per !== 'token' && limit.per !== 'client') fail(`${at}.per`, "must be 'token' or 'client'", limit.per);
  return { requestsPerSecond: rate as number, burst, per: limit.per as RouteRateLimit['per'] };
}

function parseHold(value: unknown, at: string): RouteHold {
  const hold = object(value, at);
  return {
    queue: integer(hold.queue, `${at}.queue`, 1, 10_000),
    timeoutMs: integer(hold.timeoutMs, `${at}.timeoutMs`, 1, 600_000),
  };
}

/**
 * Checks an outlier detection setting (a route's, or a gateway's default): `consecutiveErrors` an
 * integer 1–1,000; `baseEjectionMs` an integer 1–3,600,000 and `maxEjectionMs` one from
 * `baseEjectionMs` to 3,600,000; `maxEjectedPercent` a number 0–100.
 *
 * @throws InvalidArgumentError naming the field under `at`, e.g. `routes[0].outlierDetection.maxEjectionMs`.
 */
export function parseOutlierDetection(value: unknown, at: string): RouteOutlierDetection {
  const o = object(value, at);
  const consecutiveErrors = integer(o.consecutiveErrors, `${at}.consecutiveErrors`, 1, 1_000);
  const baseEjectionMs = integer(o.baseEjectionMs, `${at}.baseEjectionMs`, 1, 3_600_000);
  const maxEjectionMs = integer(
    o.maxEjectionMs,
    `${at}.maxEjectionMs`,
    baseEjectionMs,
    3_600_000,
    ' (at least baseEjectionMs)',
  );
  const percent = o.maxEjectedPercent;
  if (typeof percent !== 'number' || !Number.isFinite(percent) || percent < 0 || percent > 100)
    fail(`${at}.maxEjectedPercent`, 'must be a number from 0 to 100', percent);
  return { consecutiveErrors, baseEjectionMs, maxEjectionMs, maxEjectedPercent: percent as number };
}

function parseMatch(value: unknown, at: string, revisions: readonly number[]): RouteMatch {
  const match = object(value, at);
  const kind = oneOf(match, at);
  const rule = object(match[kind], `${at}.${kind}`);
  const name = token(rule.name, `${at}.${kind}.name`);
  const ruleValue = rule.value;
  // Control characters can never arrive in a header or cookie value, so such a rule could never match.
  if (typeof ruleValue !== 'string' || hasControl(ruleValue))
    fail(`${at}.${kind}.value`, 'must be a string without control characters', ruleValue);
  const revision = targetRevision(match.revision, `${at}.revision`, revisions);
  return { [kind]: { name, value: ruleValue as string }, revision };
}

function parseSticky(value: unknown, at: string): RouteSticky {
  const sticky = object(value, at);
  const kind = oneOf(sticky, at);
  return { [kind]: token(sticky[kind], `${at}.${kind}`) };
}

function parseMirror(value: unknown, at: string, revisions: readonly number[]): RouteMirror {
  const mirror = object(value, at);
  const revision = targetRevision(mirror.revision, `${at}.revision`, revisions);
  const percent = mirror.percent;
  if (typeof percent !== 'number' || !Number.isFinite(percent) || percent < 0 || percent > 100)
    fail(`${at}.percent`, 'must be a number from 0 to 100', percent);
  const parsed: { -readonly [K in keyof RouteMirror]: RouteMirror[K] } = { revision, percent: percent as number };
  if (mirror.tolerance !== undefined) {
    const tolerance = mirror.tolerance;
    if (typeof tolerance !== 'number' || !Number.isFinite(tolerance) || tolerance < 0)
      fail(`${at}.tolerance`, 'must be a finite number ≥ 0', tolerance);
    parsed.tolerance = tolerance as number;
  }
  if (mirror.methods !== undefined)
    parsed.methods = array(mirror.methods, `${at}.methods`).map((m, i) => {
      if (typeof m !== 'string' || !/^[A-Z]+$/.test(m))
        fail(`${at}.methods[${i}]`, 'must be an upper-case HTTP method', m);
      return m as string;
    });
  return parsed;
}

/** Which of `header` and `cookie` a rule sets; exactly one must be. */
function oneOf(rule: Record<string, unknown>, at: string): 'header' | 'cookie' {
  const hasHeader = rule.header !== undefined;
  if (hasHeader === (rule.cookie !== undefined))
    fail(at, `must set exactly one of 'header' and 'cookie', got ${hasHeader ? 'both' : 'neither'}`);
  return hasHeader ? 'header' : 'cookie';
}

function targetRevision(value: unknown, at: string, revisions: readonly number[]): number {
  if (typeof value !== 'number' || !revisions.includes(value)) {
    fail(
      at,
      `must be the revision of one of the route's targets (${revisions.length > 0 ? revisions.join(', ') : 'it has none'})`,
      value,
    );
  }
  return value as number;
}

/** Control characters other than tab, which RFC 9110 never allows in a field value. */
function hasControl(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if ((c < 0x20 && c !== 0x09) || c === 0x7f) return true;
  }
  return false;
}

/** RFC 9110 token: the characters a header name (and a cookie name) may have. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

function token(value: unknown, at: string): string {
  if (typeof value !== 'string' || !TOKEN.test(value))
    fail(at, "must be an HTTP token (letters, digits and !#$%&'*+-.^_`|~)", value);
  return value as string;
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
  if (
    (url.pathname !== '/' && url.pathname !== '') ||
    url.search !== '' ||
    url.hash !== '' ||
    url.username !== '' ||
    url.password !== ''
  ) {
    fail(`${at}.url`, 'must be an origin (scheme, host and port) with no path, query or credentials', raw);
  }
  const known = urlById.get(id);
  if (known !== undefined && known !== url.origin) fail(`${at}.url`, `backend '${id}' already has URL ${known}`, raw);
  urlById.set(id, url.origin);
  return { id, url: url.origin };
}
