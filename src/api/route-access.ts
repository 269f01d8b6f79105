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
}

/** Every route's access. */
export const ROUTE_ACCESS: Readonly<Record<string, RouteAccess>> = {
  'GET /healthz': { permission: 'public', environment: 'none' },
  'GET /readyz': { permission: 'public', environment: 'none' },
  // TEMPORARY until pods and exports carry a pull token (issue 14, secrets work): artifacts are
  // fetched by content digest without a credential.
  'GET /api/v1/blobs/:digest': { permission: 'public', environment: 'none' },
  // The dry run of admission policies: reads only.
  'POST /api/v1/environments/{environment}/policy-test': { permission: 'policies:read', environment: 'param' },
};
