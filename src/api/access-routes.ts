/**
 * Access endpoints: custom roles (list, get, create, delete; built-in ones listed and readable),
 * role bindings (list, create, delete) and `GET /api/v1/auth/can-i`, which answers from the same
 * Authorizer the middleware asks, for the caller or (with roles:admin) for someone else. A binding
 * is created or deleted only by a caller with roles:admin where the binding applies: a staging
 * administrator cannot grant anything in production or everywhere.
 */
import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { permissionOfVerb } from '../core/access/verbs.js';
import { InvalidArgumentError, PermissionDeniedError } from '../core/errors.js';
import type { Principal } from '../core/identity/principal.js';
import { currentRequest } from '../core/request-context.js';
import type { RoleBindingSubject } from '../core/resources.js';
import type { AccessAdmin } from '../services/access/access-admin.js';
import type { Authorizer } from '../services/access/authorizer.js';
import type { PrincipalDirectory } from '../services/access/principal-directory.js';
import {
  CanIQuery,
  CanIResponse,
  RoleBindingBody,
  RoleBindingCreate,
  RoleBindingList,
  RoleBody,
  RoleCreate,
  RoleList,
} from './access-schemas.js';
import { DeletedResponse } from './response-schemas.js';
import { errorResponses as routeErrors, json, jsonBody, tooLarge } from './route-kit.js';

const errorResponses = routeErrors(400, 403, 404, 409);

/** What these routes need. */
export interface AccessRouteDeps {
  authorizer: Authorizer;
  admin: AccessAdmin;
  /** Resolves `as=` and bindings given by name. */
  directory: PrincipalDirectory;
}

/** The authenticated caller; the authorization middleware has already refused a request without one. */
function caller(): Principal {
  const principal = currentRequest()?.principal;
  if (principal === undefined) throw new PermissionDeniedError('permission denied: no authenticated caller');
  return principal;
}

/** Adds the routes to `app`. */
export function registerAccessRoutes(app: OpenAPIHono, { authorizer, admin, directory }: AccessRouteDeps): void {
  const named = z.object({ name: z.string() });

  app.openapi(
    createRoute({
      method: 'get',
      path: '/api/v1/roles',
      responses: { 200: json('Built-in and custom roles', RoleList), ...errorResponses },
    }),
    async (c) => c.json({ items: await admin.listRoles() }, 200),
  );
  app.openapi(
    createRoute({
      method: 'get',
      path: '/api/v1/roles/{name}',
      request: { params: named },
      responses: { 200: json('A role', RoleBody), ...errorResponses },
    }),
    async (c) => c.json(await admin.getRole(c.req.valid('param').name), 200),
  );
  app.openapi(
    createRoute({
      method: 'post',
      path: '/api/v1/roles',
      request: jsonBody(RoleCreate),
      responses: { 201: json('Created', RoleBody), ...errorResponses, ...tooLarge },
    }),
    async (c) => c.json(await admin.createRole(c.req.valid('json'), caller().id), 201),
  );
  app.openapi(
    createRoute({
      method: 'delete',
      path: '/api/v1/roles/{name}',
      request: { params: named },
      responses: { 200: json('Deleted', DeletedResponse), ...errorResponses },
    }),
    async (c) => {
      const { name } = c.req.valid('param');
      await admin.deleteRole(name);
      return c.json({ deleted: name }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/api/v1/rolebindings',
      request: {
        query: z.object({
          environment: z.string().min(1).optional(),
          subjectType: z.enum(['user', 'serviceAccount', 'group']).optional(),
          subject: z.string().min(1).optional().openapi({ description: 'A principal id or group name' }),
        }),
      },
      responses: { 200: json('Role bindings', RoleBindingList), ...errorResponses },
    }),
    async (c) => {
      const { environment, subjectType, subject } = c.req.valid('query');
      if ((subjectType === undefined) !== (subject === undefined))
        throw new InvalidArgumentError('subject: give subjectType and subject together');
      const filter = {
        ...(environment === undefined ? {} : { environment }),
        ...(subject === undefined ? {} : { subject: { type: subjectType!, id: subject } }),
      };
      return c.json({ items: await admin.listBindings(filter) }, 200);
    },
  );
  app.openapi(
    createRoute({
      method: 'post',
      path: '/api/v1/rolebindings',
      request: jsonBody(RoleBindingCreate),
      responses: { 201: json('Created', RoleBindingBody), ...errorResponses, ...tooLarge },
    }),
    async (c) => {
      const { subject, ...rest } = c.req.valid('json');
      const input = { ...rest, subject: await subjectOf(subject, directory) };
      const binding = await admin.normalizeBinding(input);
      const me = caller();
      await authorizer.check(me, 'roles:admin', { project: binding.project, environment: binding.environment });
      return c.json(await admin.createBinding(input, me.id), 201);
    },
  );
  app.openapi(
    createRoute({
      method: 'delete',
      path: '/api/v1/rolebindings/{id}',
      request: { params: z.object({ id: z.string() }) },
      responses: { 200: json('Deleted', DeletedResponse), ...errorResponses },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const binding = await admin.getBinding(id);
      await authorizer.check(caller(), 'roles:admin', { project: binding.project, environment: binding.environment });
      await admin.deleteBinding(id);
      return c.json({ deleted: id }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/api/v1/auth/can-i',
      request: { query: CanIQuery },
      responses: { 200: json('The decision and its reason', CanIResponse), ...errorResponses },
    }),
    async (c) => {
      const q = c.req.valid('query');
      const permission = permissionOfVerb(q.permission);
      if (permission === undefined)
        throw new InvalidArgumentError(
          `permission: ${JSON.stringify(q.permission)} is neither a permission (e.g. deployments:create) nor a verb (deploy, scale, rollback, promote, approve, push)`,
        );
      const scope = {
        ...(q.project === undefined ? {} : { project: q.project }),
        ...(q.environment === undefined ? {} : { environment: q.environment }),
      };
      let subject = caller();
      if (q.as !== undefined) {
        await authorizer.check(subject, 'roles:admin', scope);
        const found = await directory.find(q.as);
        if (found === undefined)
          throw new InvalidArgumentError(`as: no user or service account ${JSON.stringify(q.as)}`);
        subject = found;
      }
      const decision = await authorizer.decide(subject, permission, scope);
      return c.json(
        {
          ...decision,
          permission,
          ...(q.environment === undefined ? {} : { environment: q.environment }),
          principal: { id: subject.id, name: subject.name },
        },
        200,
      );
    },
  );
}

/** A binding's subject with its id: a user or service account given by name is looked up. */
async function subjectOf(
  s: { type: RoleBindingSubject['type']; id?: string; name?: string },
  directory: PrincipalDirectory,
): Promise<RoleBindingSubject> {
  if (s.id !== undefined) return { type: s.type, id: s.id };
  if (s.type === 'group') return { type: 'group', id: s.name! };
  const found = await directory.find(s.name!);
  const expected = s.type === 'serviceAccount' ? 'serviceAccount' : 'user';
  if (found === undefined || found.type !== expected)
    throw new InvalidArgumentError(
      `subject.name: no ${s.type === 'user' ? 'user' : 'service account'} named ${JSON.stringify(s.name)}`,
    );
  return { type: s.type, id: found.id };
}
