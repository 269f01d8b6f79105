/**
 * What each API route needs of its caller: the one table authorization reads (deny by default: a
 * route missing here is refused with 403 and the authorization matrix test fails). Keyed
 * `METHOD path`, with the path as registered (`/api/v1/environments/{environment}/deployments/{name}`
 * in OpenAPI form, or Hono's `:param` form for routes registered without OpenAPI).
 */
import type { Permission } from '../core/access/permissions.js';

/** Where the environment a permission is checked in comes from. */
export type EnvironmentSource =
  /** The route is not about one environment (models, users, …): any binding in the project counts. */
  | 'none'
  /** The `environment` path parameter. */
  | 'param'
  /** The `environment` query parameter. */
  | 'query'
  /** The JSON body's `environment` field. */
  | 'body'
  /** The handler resolves it (e.g. from an approval) and checks again; the table's check is "in some environment". */
  | 'handler';

/** The caller a route needs. */
export interface RouteAccess {
  /** `public`: no credential (health, readiness, metrics of liveness); `authenticated`: any valid credential. */
  readonly permission: Permission | 'public' | 'authenticated';
  readonly environment: EnvironmentSource;
  /**
   * The parameter or body field that names the environment when it is not `environment` (e.g.
   * `name` on `/api/v1/environments/{name}`, `to` on a promotion between environments).
   */
  readonly field?: string;
}

/** Every route's access. */
export const ROUTE_ACCESS: Readonly<Record<string, RouteAccess>> = {
  // Liveness and readiness stay open (probes carry no credential); the API document needs one.
  'GET /healthz': { permission: 'public', environment: 'none' },
  'GET /readyz': { permission: 'public', environment: 'none' },
  'GET /metrics': { permission: 'deployments:read', environment: 'none' },
  'GET /api/v1/openapi.json': { permission: 'authenticated', environment: 'none' },
  'GET /': { permission: 'deployments:read', environment: 'none' },

  // Models and their artifacts (not tied to an environment).
  'GET /api/v1/models': { permission: 'models:read', environment: 'none' },
  'GET /api/v1/models/{name}': { permission: 'models:read', environment: 'none' },
  'GET /api/v1/models/{name}/versions': { permission: 'models:read', environment: 'none' },
  'POST /api/v1/models/{name}/versions': { permission: 'models:push', environment: 'none' },
  'GET /api/v1/models/{name}/versions/{version}': { permission: 'models:read', environment: 'none' },
  // Application bundles (`wharf app push`): code archives, with the models' permissions.
  'GET /api/v1/bundles': { permission: 'models:read', environment: 'none' },
  'GET /api/v1/bundles/{name}/versions': { permission: 'models:read', environment: 'none' },
  'POST /api/v1/bundles/{name}/versions': { permission: 'models:push', environment: 'none' },
  'GET /api/v1/bundles/{name}/versions/{version}': { permission: 'models:read', environment: 'none' },
  // Artifacts: model pods download them with their namespace's pull token (models:read).
  'GET /api/v1/blobs/{digest}': { permission: 'models:read', environment: 'none' },

  // Deployments.
  'POST /api/v1/deployments': { permission: 'deployments:create', environment: 'body' },
  'GET /api/v1/deployments': { permission: 'deployments:read', environment: 'query' },
  'GET /api/v1/environments/{environment}/deployments/{name}': { permission: 'deployments:read', environment: 'param' },
  'PATCH /api/v1/environments/{environment}/deployments/{name}': {
    permission: 'deployments:update',
    environment: 'param',
  },
  'DELETE /api/v1/environments/{environment}/deployments/{name}': {
    permission: 'deployments:delete',
    environment: 'param',
  },
  'POST /api/v1/environments/{environment}/deployments/{name}/scale': {
    permission: 'deployments:scale',
    environment: 'param',
  },
  'POST /api/v1/environments/{environment}/deployments/{name}/rollback': {
    permission: 'deployments:rollback',
    environment: 'param',
  },
  'GET /api/v1/environments/{environment}/deployments/{name}/revisions': {
    permission: 'deployments:read',
    environment: 'param',
  },
  'GET /api/v1/environments/{environment}/deployments/{name}/revisions/{number}': {
    permission: 'deployments:read',
    environment: 'param',
  },
  'GET /api/v1/environments/{environment}/deployments/{name}/diff': {
    permission: 'deployments:read',
    environment: 'param',
  },
  'GET /api/v1/environments/{environment}/deployments/{name}/events': {
    permission: 'deployments:read',
    environment: 'param',
  },
  'GET /api/v1/environments/{environment}/deployments/{name}/logs': {
    permission: 'deployments:read',
    environment: 'param',
  },
  'GET /api/v1/environments/{environment}/deployments/{name}/autoscaling': {
    permission: 'deployments:read',
    environment: 'param',
  },
  // Wakes a scaled-to-zero deployment: what the gateway asks when it holds requests.
  'POST /api/v1/environments/{environment}/deployments/{name}/activate': {
    permission: 'deployments:scale',
    environment: 'param',
  },
  'POST /api/v1/environments/{environment}/deployments/{name}/feedback': {
    permission: 'feedback:write',
    environment: 'param',
  },
  'GET /api/v1/environments/{environment}/deployments/{name}/ab-results': {
    permission: 'deployments:read',
    environment: 'param',
  },

  // Rollouts and promotion between environments (checked in the target environment).
  'POST /api/v1/environments/{environment}/deployments/{name}/promote': {
    permission: 'rollouts:promote',
    environment: 'param',
  },
  'POST /api/v1/environments/{environment}/deployments/{name}/abort': {
    permission: 'rollouts:abort',
    environment: 'param',
  },
  'POST /api/v1/environments/{environment}/deployments/{name}/retry': {
    permission: 'rollouts:retry',
    environment: 'param',
  },
  'POST /api/v1/deployments/{name}/promotions': { permission: 'rollouts:promote', environment: 'body', field: 'to' },

  // The route table the gateways follow: it lists the token hashes of protected endpoints, so only
  // gateways (their token's scope) and admins read it.
  'GET /api/v1/routes': { permission: 'routes:read', environment: 'none' },
  'GET /api/v1/routes/watch': { permission: 'routes:read', environment: 'none' },

  // Approvals: deciding is checked again in the approval's environment by the change gate.
  'GET /api/v1/approvals': { permission: 'approvals:read', environment: 'query' },
  'GET /api/v1/approvals/{id}': { permission: 'approvals:read', environment: 'none' },
  'POST /api/v1/approvals/{id}/approve': { permission: 'approvals:decide', environment: 'handler' },
  'POST /api/v1/approvals/{id}/reject': { permission: 'approvals:decide', environment: 'handler' },
  'GET /api/v1/incidents': { permission: 'deployments:read', environment: 'query' },

  // Environments and their policies.
  'GET /api/v1/environments': { permission: 'environments:read', environment: 'none' },
  'GET /api/v1/environments/{name}': { permission: 'environments:read', environment: 'param', field: 'name' },
  'PATCH /api/v1/environments/{name}': { permission: 'environments:admin', environment: 'param', field: 'name' },

  // Analysis templates decide whether rollouts proceed in every environment: writing one is a policy.
  'GET /api/v1/analysis-templates': { permission: 'deployments:read', environment: 'none' },
  'GET /api/v1/analysis-templates/{name}': { permission: 'deployments:read', environment: 'none' },
  'PUT /api/v1/analysis-templates/{name}': { permission: 'policies:admin', environment: 'none' },
  'DELETE /api/v1/analysis-templates/{name}': { permission: 'policies:admin', environment: 'none' },

  // Roles and bindings (api/access-routes.ts); a binding is checked again in its own environment.
  'GET /api/v1/roles': { permission: 'roles:read', environment: 'none' },
  'GET /api/v1/roles/{name}': { permission: 'roles:read', environment: 'none' },
  'POST /api/v1/roles': { permission: 'roles:admin', environment: 'none' },
  'DELETE /api/v1/roles/{name}': { permission: 'roles:admin', environment: 'none' },
  'GET /api/v1/rolebindings': { permission: 'roles:read', environment: 'query' },
  'POST /api/v1/rolebindings': { permission: 'roles:admin', environment: 'handler' },
  'DELETE /api/v1/rolebindings/{id}': { permission: 'roles:admin', environment: 'handler' },
  // Anyone may ask about themselves; asking about someone else (`as`) needs roles:admin (the handler checks).
  'GET /api/v1/auth/can-i': { permission: 'authenticated', environment: 'none' },

  // The audit trail (api/audit-routes.ts).
  'GET /api/v1/audit': { permission: 'audit:read', environment: 'none' },
  'GET /api/v1/audit/verify': { permission: 'audit:read', environment: 'none' },
  'GET /api/v1/audit/export': { permission: 'audit:read', environment: 'none' },

  // Identity (identity-routes.ts): login is how a credential is got; the token routes check the
  // owner in the handler (tokens:admin for anyone's tokens and for service accounts').
  'POST /api/v1/auth/login': { permission: 'public', environment: 'none' },
  'POST /api/v1/auth/logout': { permission: 'authenticated', environment: 'none' },
  'GET /api/v1/auth/whoami': { permission: 'authenticated', environment: 'none' },
  'GET /api/v1/users': { permission: 'users:admin', environment: 'none' },
  'POST /api/v1/users': { permission: 'users:admin', environment: 'none' },
  'GET /api/v1/users/{name}': { permission: 'users:admin', environment: 'none' },
  'PATCH /api/v1/users/{name}': { permission: 'users:admin', environment: 'none' },
  'PUT /api/v1/users/{name}/password': { permission: 'users:admin', environment: 'none' },
  'DELETE /api/v1/users/{name}': { permission: 'users:admin', environment: 'none' },
  'GET /api/v1/serviceaccounts': { permission: 'users:admin', environment: 'none' },
  'POST /api/v1/serviceaccounts': { permission: 'users:admin', environment: 'none' },
  'GET /api/v1/serviceaccounts/{name}': { permission: 'users:admin', environment: 'none' },
  'DELETE /api/v1/serviceaccounts/{name}': { permission: 'users:admin', environment: 'none' },
  'POST /api/v1/tokens': { permission: 'tokens:create', environment: 'none' },
  'GET /api/v1/tokens': { permission: 'authenticated', environment: 'none' },
  'DELETE /api/v1/tokens/{id}': { permission: 'authenticated', environment: 'none' },
  // Secrets (secrets-routes.ts): metadata reads and writes per environment; rotation is an admin's.
  'PUT /api/v1/environments/{environment}/secrets/{name}': { permission: 'secrets:write', environment: 'param' },
  'GET /api/v1/environments/{environment}/secrets/{name}': { permission: 'secrets:read', environment: 'param' },
  'GET /api/v1/environments/{environment}/secrets': { permission: 'secrets:read', environment: 'param' },
  'DELETE /api/v1/environments/{environment}/secrets/{name}': { permission: 'secrets:write', environment: 'param' },
  'POST /api/v1/secrets/rotate-key': { permission: 'secrets:admin', environment: 'none' },
  // Batch jobs (api/jobs-routes.ts): checked in the job's environment.
  'POST /api/v1/jobs': { permission: 'jobs:write', environment: 'body' },
  'GET /api/v1/jobs': { permission: 'jobs:read', environment: 'query' },
  'GET /api/v1/environments/{environment}/jobs/{name}': { permission: 'jobs:read', environment: 'param' },
  'GET /api/v1/environments/{environment}/jobs/{name}/logs': { permission: 'jobs:read', environment: 'param' },
  'POST /api/v1/environments/{environment}/jobs/{name}/cancel': { permission: 'jobs:write', environment: 'param' },
  'POST /api/v1/environments/{environment}/jobs/{name}/retry': { permission: 'jobs:write', environment: 'param' },
  // The dry run of admission policies: reads only.
  'POST /api/v1/environments/{environment}/policy-test': { permission: 'policies:read', environment: 'param' },
};

/** The OpenAPI form of a Hono path: `/a/:b/c` → `/a/{b}/c` (regex constraints dropped). */
export function openApiPath(honoPath: string): string {
  return honoPath.replace(/:(\w+)(\{[^}]*\})?/g, '{$1}');
}

/**
 * The access of a route key (`METHOD path`, the path in Hono's `:param` form as matched, or in
 * OpenAPI form): the table is looked up under both forms. Undefined when the table lacks it.
 */
export function routeAccessOf(
  key: string,
  table: Readonly<Record<string, RouteAccess>> = ROUTE_ACCESS,
): RouteAccess | undefined {
  if (Object.hasOwn(table, key)) return table[key];
  const [method, path = ''] = key.split(' ', 2) as [string, string?];
  const normalized = `${method.toUpperCase()} ${openApiPath(path)}`;
  return Object.hasOwn(table, normalized) ? table[normalized] : undefined;
}
