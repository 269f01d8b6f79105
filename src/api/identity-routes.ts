/**
 * The identity API: login (public) and logout, whoami, users and service accounts (users:admin),
 * and API tokens (create: tokens:create; list and revoke your own, anyone's with tokens:admin).
 * Who may call each route is in route-access.ts; the services check the rest (the scopes of a new
 * token, whose token may be revoked). No answer carries a password or a hash.
 */
import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { PermissionDeniedError, UnauthenticatedError } from '../core/errors.js';
import type { Principal } from '../core/identity/principal.js';
import { currentRequest } from '../core/request-context.js';
import type { IdentityServices } from '../services/identity/identity-services.js';
import {
  IdentityDeleted,
  LoginRequest,
  LoginResponse,
  LogoutResponse,
  PasswordSet,
  ServiceAccountBody,
  ServiceAccountCreate,
  ServiceAccountList,
  TokenBody,
  TokenCreate,
  TokenCreated,
  TokenList,
  UserBody,
  UserCreate,
  UserList,
  UserPatch,
  WhoamiResponse,
} from './identity-schemas.js';
import { errorResponses, json, jsonBody, tooLarge } from './route-kit.js';

const named = z.object({ name: z.string() });
const errors = { ...errorResponses(400, 401, 403, 404, 409) };

/** The authenticated caller (the middleware lets no unauthenticated request reach these routes). */
function caller(): Principal {
  const principal = currentRequest()?.principal;
  if (principal === undefined) throw new UnauthenticatedError('this endpoint needs a credential');
  return principal;
}

/**
 * The caller, once it holds users:admin. The authorization middleware checks the route table
 * first; this second check keeps the routes closed wherever that middleware is not installed.
 */
async function admin(identity: IdentityServices): Promise<Principal> {
  const p = caller();
  const d = await identity.access.decide(p, 'users:admin');
  if (!d.allowed)
    throw new PermissionDeniedError('permission denied: users:admin is needed to manage users and service accounts');
  return p;
}

/** Adds the routes to `app`. */
export function registerIdentityRoutes(app: OpenAPIHono, identity: IdentityServices): void {
  const { users, serviceAccounts, tokenManagement, login } = identity;

  app.openapi(
    createRoute({
      method: 'post',
      path: '/api/v1/auth/login',
      request: jsonBody(LoginRequest),
      responses: { 200: json('A session token (12 h)', LoginResponse), ...errors, ...tooLarge },
    }),
    async (c) => {
      const { name, password } = c.req.valid('json');
      return c.json(await login.login(name, password), 200);
    },
  );
  app.openapi(
    createRoute({
      method: 'post',
      path: '/api/v1/auth/logout',
      responses: { 200: json('The token of this request, revoked', LogoutResponse), ...errors },
    }),
    async (c) => c.json(await login.logout(caller()), 200),
  );
  app.openapi(
    createRoute({
      method: 'get',
      path: '/api/v1/auth/whoami',
      responses: { 200: json('Who the credential of this request is', WhoamiResponse), ...errors },
    }),
    (c) => {
      const p = caller();
      return c.json(
        {
          id: p.id,
          name: p.name,
          type: p.type,
          groups: [...p.groups],
          via: p.via,
          ...(p.tokenId === undefined ? {} : { tokenId: p.tokenId }),
          ...(p.scopes === undefined ? {} : { scopes: [...p.scopes] }),
          expiresAt: p.expiresAt ?? null,
        },
        200,
      );
    },
  );

  // Users.
  app.openapi(
    createRoute({ method: 'get', path: '/api/v1/users', responses: { 200: json('Users', UserList), ...errors } }),
    async (c) => {
      await admin(identity);
      return c.json({ items: await users.list() }, 200);
    },
  );
  app.openapi(
    createRoute({
      method: 'post',
      path: '/api/v1/users',
      request: jsonBody(UserCreate),
      responses: { 201: json('Created', UserBody), ...errors, ...tooLarge },
    }),
    async (c) => {
      await admin(identity);
      return c.json(await users.create(c.req.valid('json')), 201);
    },
  );
  app.openapi(
    createRoute({
      method: 'get',
      path: '/api/v1/users/{name}',
      request: { params: named },
      responses: { 200: json('A user', UserBody), ...errors },
    }),
    async (c) => {
      await admin(identity);
      return c.json(await users.get(c.req.valid('param').name), 200);
    },
  );
  app.openapi(
    createRoute({
      method: 'patch',
      path: '/api/v1/users/{name}',
      request: { params: named, ...jsonBody(UserPatch) },
      responses: { 200: json('Changed', UserBody), ...errors, ...tooLarge },
    }),
    async (c) => {
      await admin(identity);
      return c.json(await users.update(c.req.valid('param').name, c.req.valid('json')), 200);
    },
  );
  app.openapi(
    createRoute({
      method: 'put',
      path: '/api/v1/users/{name}/password',
      request: { params: named, ...jsonBody(PasswordSet) },
      responses: { 200: json('Password set', UserBody), ...errors, ...tooLarge },
    }),
    async (c) => {
      await admin(identity);
      return c.json(await users.setPassword(c.req.valid('param').name, c.req.valid('json').password), 200);
    },
  );
  app.openapi(
    createRoute({
      method: 'delete',
      path: '/api/v1/users/{name}',
      request: { params: named },
      responses: { 200: json('Deleted, with its tokens revoked', IdentityDeleted), ...errors },
    }),
    async (c) => {
      await admin(identity);
      return c.json(await users.delete(c.req.valid('param').name), 200);
    },
  );

  // Service accounts.
  app.openapi(
    createRoute({
      method: 'get',
      path: '/api/v1/serviceaccounts',
      responses: { 200: json('Service accounts', ServiceAccountList), ...errors },
    }),
    async (c) => {
      await admin(identity);
      return c.json({ items: await serviceAccounts.list() }, 200);
    },
  );
  app.openapi(
    createRoute({
      method: 'post',
      path: '/api/v1/serviceaccounts',
      request: jsonBody(ServiceAccountCreate),
      responses: { 201: json('Created', ServiceAccountBody), ...errors, ...tooLarge },
    }),
    async (c) => {
      await admin(identity);
      return c.json(await serviceAccounts.create(c.req.valid('json')), 201);
    },
  );
  app.openapi(
    createRoute({
      method: 'get',
      path: '/api/v1/serviceaccounts/{name}',
      request: { params: named },
      responses: { 200: json('A service account', ServiceAccountBody), ...errors },
    }),
    async (c) => {
      await admin(identity);
      return c.json(await serviceAccounts.get(c.req.valid('param').name), 200);
    },
  );
  app.openapi(
    createRoute({
      method: 'delete',
      path: '/api/v1/serviceaccounts/{name}',
      request: { params: named },
      responses: { 200: json('Deleted, with its tokens revoked', IdentityDeleted), ...errors },
    }),
    async (c) => {
      await admin(identity);
      return c.json(await serviceAccounts.delete(c.req.valid('param').name), 200);
    },
  );

  // Tokens.
  app.openapi(
    createRoute({
      method: 'post',
      path: '/api/v1/tokens',
      request: jsonBody(TokenCreate),
      responses: { 201: json('The new token; its string is shown here only', TokenCreated), ...errors, ...tooLarge },
    }),
    async (c) => c.json(await tokenManagement.create(caller(), c.req.valid('json')), 201),
  );
  app.openapi(
    createRoute({
      method: 'get',
      path: '/api/v1/tokens',
      responses: { 200: json('Your tokens (everyone’s with tokens:admin)', TokenList), ...errors },
    }),
    async (c) => c.json({ items: await tokenManagement.list(caller()) }, 200),
  );
  app.openapi(
    createRoute({
      method: 'delete',
      path: '/api/v1/tokens/{id}',
      request: { params: z.object({ id: z.string() }) },
      responses: { 200: json('Revoked: refused from now on', TokenBody), ...errors },
    }),
    async (c) => c.json(await tokenManagement.revoke(caller(), c.req.valid('param').id), 200),
  );
}
