/**
 * What an API request is, in the audit trail's words: its action (`deployments.create`,
 * `deployments.rollback`, `auth.login`, `secrets.read`), the resource it names and its environment,
 * derived from the method and the route pattern it matched, so a new route needs no line here.
 * Which requests are audited at all is decided here too: mutations, secret reads and logins
 * (other reads only when they are denied).
 */

/** What {@link describeRequest} derives. */
export interface AuditedRequest {
  action: string;
  resource: { kind: string; name: string | null };
  environment: string | null;
  /** Audited even when it succeeds without changing anything. */
  audited: boolean;
}

const VERBS: Record<string, string> = { POST: 'create', PUT: 'update', PATCH: 'update', DELETE: 'delete', GET: 'read' };
const MUTATIONS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** Actions whose derived name would say less than the usual word. */
const RENAMED: Record<string, string> = {
  'POST /api/v1/models/:name/versions': 'models.push',
};

function singular(plural: string): string {
  if (plural.endsWith('ies')) return `${plural.slice(0, -3)}y`;
  if (plural.endsWith('s')) return plural.slice(0, -1);
  return plural;
}

/**
 * The audit description of `METHOD pattern` (Hono's form, `:param`), given the path parameters,
 * the query's environment and a JSON body (for a create's name and environment).
 *
 * @example
 *   describeRequest('POST', '/api/v1/environments/:environment/deployments/:name/rollback', { environment: 'staging', name: 'risk' })
 *   // { action: 'deployments.rollback', resource: { kind: 'deployment', name: 'risk' }, environment: 'staging', audited: true }
 */
export function describeRequest(
  method: string,
  pattern: string,
  params: Record<string, string>,
  extra: { queryEnvironment?: string; body?: unknown } = {},
): AuditedRequest {
  const segments = pattern
    .replace(/^\/api\/v\d+\/?/, '')
    .split('/')
    .filter(Boolean);
  let resource: string | undefined;
  let name: string | null = null;
  let verb: string | undefined;
  for (let i = 0; i < segments.length; i++) {
    const s = segments[i]!;
    if (s.startsWith(':')) continue;
    const following = segments[i + 1];
    if (following?.startsWith(':') === true) {
      resource = s;
      name = params[following.slice(1).replace(/[{?].*$/, '')] ?? null;
      verb = undefined;
    } else if (resource === undefined && following !== undefined) {
      resource = s; // e.g. auth/login, audit/verify
    } else if (resource === undefined) {
      resource = s;
    } else {
      verb = verb === undefined ? s : `${verb}.${s}`;
    }
  }
  resource ??= 'api';
  const body = (typeof extra.body === 'object' && extra.body !== null ? extra.body : {}) as Record<string, unknown>;
  const bodyName = typeof body.name === 'string' ? body.name : undefined;
  const action =
    RENAMED[`${method} ${pattern}`] ??
    `${resource}.${verb ?? (MUTATIONS.has(method) || method === 'GET' ? VERBS[method]! : method.toLowerCase())}`;
  const environment =
    params.environment ??
    extra.queryEnvironment ??
    (typeof body.environment === 'string' ? body.environment : undefined) ??
    (resource === 'environments' ? (name ?? bodyName) : undefined) ??
    null;
  const isSecretRead = method === 'GET' && resource === 'secrets';
  const isLogin = /(^|\.)(login)$/.test(action);
  return {
    action: isSecretRead && verb === undefined ? 'secrets.read' : action,
    resource: { kind: singular(resource), name: name ?? (method === 'POST' ? (bodyName ?? null) : null) },
    environment,
    audited: MUTATIONS.has(method) || isSecretRead || isLogin,
  };
}
