/**
 * The authorization matrix: a real control plane, every route its API serves (taken from the
 * server's own route list, so a route added later is in the matrix without anyone listing it) ×
 * each built-in role bound in `staging` only (and a user with no binding) × an allowed (`staging`)
 * and a forbidden (`production`) environment. Expected: zero unauthorized successes; every denial
 * a 401 or 403 with `{"error": {code, message}}`; and no granted call refused (so the matrix cannot
 * pass by refusing everything). Requests name things that do not exist, so granted calls answer
 * 4xx of their own (400, 404) and change nothing, except the role bindings the admin may create.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { BUILTIN_ROLES, type BuiltinRoleName } from '../src/core/access/permissions.js';
import { type RouteAccess, routeAccessOf } from '../src/api/route-access.js';
import { type E2eControlPlane, startE2eControlPlane } from './support/control-plane-e2e.js';

const ROLES = Object.keys(BUILTIN_ROLES) as BuiltinRoleName[];
const ALLOWED_ENV = 'staging';
const FORBIDDEN_ENV = 'production';

/** The route's path with its parameters filled for `env`. */
function urlOf(path: string, env: string, access: RouteAccess): string {
  let url = path.replace(/:(\w+)(\{[^}]*\})?/g, (_, param: string) => {
    if (param === 'environment') return env;
    if (param === 'name' && access.field === 'name') return env; // /api/v1/environments/:name
    if (param === 'version') return '9.9.9';
    if (param === 'digest') return `sha256:${'0'.repeat(64)}`;
    if (param === 'number') return '1';
    return 'nothing-here';
  });
  const query = new URLSearchParams({ environment: env });
  if (path === '/api/v1/auth/can-i') query.set('permission', 'deploy');
  url += `?${query.toString()}`;
  return url;
}

/** A body naming `env` wherever a route reads an environment from one. */
function bodyOf(path: string, env: string): unknown {
  if (path === '/api/v1/rolebindings')
    return { subject: { type: 'user', id: 'user:somebody' }, role: 'viewer', environment: env };
  return { environment: env, to: env, from: 'development' };
}

/** Whether `role` bound in ALLOWED_ENV may call a route with `access` about `env`. */
function granted(role: BuiltinRoleName | null, access: RouteAccess, path: string, env: string): boolean {
  if (access.permission === 'public' || access.permission === 'authenticated') return true;
  const permissions: readonly string[] = role === null ? [] : BUILTIN_ROLES[role];
  if (!permissions.includes(access.permission)) return false;
  // The handler checks a new binding in the binding's own environment.
  if (path === '/api/v1/rolebindings' && access.environment === 'handler') return env === ALLOWED_ENV;
  if (access.environment === 'none' || access.environment === 'handler') return true;
  return env === ALLOWED_ENV;
}

async function call(
  e2e: E2eControlPlane,
  method: string,
  url: string,
  token: string | undefined,
  body: unknown,
): Promise<{ status: number; text: string }> {
  const abort = new AbortController();
  const r = await fetch(`${e2e.cp.apiUrl}${url}`, {
    method,
    headers: {
      'content-type': 'application/json',
      ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
    },
    ...(method === 'GET' || method === 'HEAD' || method === 'DELETE' ? {} : { body: JSON.stringify(body) }),
    signal: abort.signal,
  });
  // Streams (the route watch, logs) never end: a status and a first chunk are all this needs.
  const type = r.headers.get('content-type') ?? '';
  if (r.ok && type.includes('ndjson')) {
    abort.abort();
    return { status: r.status, text: '' };
  }
  return { status: r.status, text: await r.text() };
}

function assertErrorBody(text: string, code: string, what: string): void {
  let parsed: { error?: { code?: unknown; message?: unknown } };
  try {
    parsed = JSON.parse(text) as typeof parsed;
  } catch {
    assert.fail(`${what}: the denial is not JSON: ${text.slice(0, 200)}`);
  }
  assert.equal(parsed.error?.code, code, `${what}: ${text}`);
  assert.ok(typeof parsed.error?.message === 'string' && parsed.error.message.length > 0, `${what}: a message`);
}

describe('authorization matrix', () => {
  let e2e: E2eControlPlane;
  const tokens = new Map<BuiltinRoleName | null, string>();

  before(async () => {
    e2e = await startE2eControlPlane('wharf-authz-matrix-', { '1.0.0': {} });
    for (const role of ROLES)
      tokens.set(role, await e2e.tokenFor(`${role}-in-staging`, { role, environment: ALLOWED_ENV }));
    tokens.set(null, await e2e.tokenFor('nobody', null));
  });
  after(() => e2e?.stop());

  test('every route the API serves has an access rule (a new route without one is refused, and fails here)', () => {
    const routes = e2e.cp.apiRoutes;
    assert.ok(routes.length > 40, `the route list is the server's own (${routes.length} routes)`);
    const missing = routes.filter((r) => routeAccessOf(`${r.method} ${r.path}`) === undefined);
    assert.deepEqual(missing, [], 'routes missing from ROUTE_ACCESS');
  });

  test('the table itself: no write route needs only a read permission or none; only health, readiness and login are public', () => {
    // Login is public by its nature: it is how a credential is obtained.
    const PUBLIC = new Set(['GET /healthz', 'GET /readyz', 'POST /api/v1/auth/login']);
    const SELF_SERVICE = new Set(['POST /api/v1/auth/login', 'POST /api/v1/auth/logout', 'DELETE /api/v1/tokens/:id']);
    // POSTs that change nothing: a dry run of the admission policies.
    const READS_BY_POST = new Set(['POST /api/v1/environments/:environment/policy-test']);
    for (const route of e2e.cp.apiRoutes) {
      const key = `${route.method} ${route.path}`;
      const access = routeAccessOf(key)!;
      if (access.permission === 'public') assert.ok(PUBLIC.has(key), `${key} is public`);
      // Writes about the caller's own credential: logging out, revoking a token of one's own (the
      // handler checks tokens:admin for anyone else's).
      if (route.method !== 'GET' && !SELF_SERVICE.has(key) && !READS_BY_POST.has(key)) {
        assert.ok(
          access.permission !== 'public' &&
            access.permission !== 'authenticated' &&
            !access.permission.endsWith(':read'),
          `${key} changes something and needs ${access.permission}`,
        );
      }
    }
  });

  test('without a credential every route but the public ones is a 401 with the error body', async () => {
    for (const route of e2e.cp.apiRoutes) {
      const access = routeAccessOf(`${route.method} ${route.path}`)!;
      const r = await call(
        e2e,
        route.method,
        urlOf(route.path, ALLOWED_ENV, access),
        undefined,
        bodyOf(route.path, ALLOWED_ENV),
      );
      const what = `anonymous ${route.method} ${route.path} → ${r.status}`;
      if (access.permission === 'public') assert.notEqual(r.status, 401, what);
      else {
        assert.equal(r.status, 401, what);
        assertErrorBody(r.text, 'UNAUTHENTICATED', what);
      }
    }
  });

  test('each role × each route × an allowed and a forbidden environment: no unauthorized success, no granted call refused', async () => {
    const failures: string[] = [];
    let denials = 0;
    let grants = 0;
    for (const role of [...ROLES, null]) {
      for (const env of [ALLOWED_ENV, FORBIDDEN_ENV]) {
        for (const route of e2e.cp.apiRoutes) {
          const access = routeAccessOf(`${route.method} ${route.path}`)!;
          // Logging out revokes the token it is called with: it gets a token of its own.
          const token =
            route.path === '/api/v1/auth/logout'
              ? await e2e.tokenFor(
                  `${role ?? 'nobody'}-in-staging`,
                  role === null ? null : { role, environment: ALLOWED_ENV },
                )
              : tokens.get(role);
          const r = await call(e2e, route.method, urlOf(route.path, env, access), token, bodyOf(route.path, env));
          const what = `${role ?? 'no role'} in ${ALLOWED_ENV}: ${route.method} ${route.path} about ${env} → ${r.status}`;
          if (granted(role, access, route.path, env)) {
            grants += 1;
            if (r.status === 401 || r.status === 403) failures.push(`refused though granted: ${what} ${r.text}`);
          } else {
            denials += 1;
            if (r.status !== 403) failures.push(`not refused: ${what} ${r.text.slice(0, 200)}`);
            else
              try {
                assertErrorBody(r.text, 'PERMISSION_DENIED', what);
              } catch (e) {
                failures.push((e as Error).message);
              }
          }
        }
      }
    }
    assert.deepEqual(failures, []);
    // Both halves were exercised, in numbers that a table that refuses or allows everything cannot give.
    assert.ok(denials > 100 && grants > 100, `denials ${denials}, grants ${grants}`);
  });

  test('a deployer in staging can deploy there and not in production; a viewer can read and not deploy', async () => {
    const create = (env: string) => ({
      method: 'POST',
      json: {
        name: 'risk',
        environment: env,
        model: { name: 'risk', version: '1.0.0' },
        configuration: { replicas: 0 },
      },
    });
    const deployer = tokens.get('deployer')!;
    const viewer = tokens.get('viewer')!;
    const created = await e2e.api('/api/v1/deployments', { ...create(ALLOWED_ENV), as: deployer });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const refused = await e2e.api('/api/v1/deployments', { ...create(FORBIDDEN_ENV), as: deployer });
    assert.equal(refused.status, 403);
    assert.match(
      String((refused.body.error as { message: string }).message),
      /deployments:create in environment production/,
    );
    const read = await e2e.api(`/api/v1/environments/${ALLOWED_ENV}/deployments/risk`, { as: viewer });
    assert.equal(read.status, 200);
    const scaled = await e2e.api(`/api/v1/environments/${ALLOWED_ENV}/deployments/risk/scale`, {
      method: 'POST',
      json: { replicas: 1 },
      as: viewer,
    });
    assert.equal(scaled.status, 403);
    assert.equal((await e2e.get(ALLOWED_ENV, 'risk')).configuration.replicas, 0, 'the refused scale changed nothing');

    // The list across environments shows the viewer only what it may read.
    assert.equal((await e2e.api('/api/v1/deployments', { ...create(FORBIDDEN_ENV), as: e2e.adminToken })).status, 201);
    const listed = (as: string) =>
      e2e
        .api('/api/v1/deployments', { as })
        .then((r) => (r.body.items as { environment: string }[]).map((d) => d.environment));
    assert.deepEqual(await listed(viewer), [ALLOWED_ENV]);
    assert.deepEqual((await listed(e2e.adminToken)).sort(), [FORBIDDEN_ENV, ALLOWED_ENV]);
  });
});
