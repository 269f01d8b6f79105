/**
 * Secrets: `PUT /api/v1/environments/{environment}/secrets/{name}` stores a new version from
 * `{ data: { KEY: value } }`; `GET` one or the list answers metadata only (key names, version, who
 * and when), never a value; `DELETE` removes it; `POST /api/v1/secrets/rotate-key` re-wraps every
 * data key under a new key-encryption key. There is no route that returns a value: only the runtime
 * reads them (services/secrets). The body is checked by core's rules, whose messages name the field
 * and never the value.
 */
import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import type { Secrets } from '../services/secrets/secrets-service.js';
import { DeletedResponse, page } from './response-schemas.js';
import { actorOf, errorResponses as routeErrors, json, tooLarge } from './route-kit.js';
import { Pagination } from './schemas.js';

const errorResponses = routeErrors(400, 401, 403, 404, 409);
const inEnvironment = z.object({ environment: z.string() });
const named = inEnvironment.extend({ name: z.string() });
const base = '/api/v1/environments/{environment}/secrets';

/** What the API shows of a secret. */
export const SecretBody = z
  .object({
    environment: z.string(),
    name: z.string(),
    currentVersion: z.number().int(),
    keys: z.array(z.string()),
    createdAt: z.string(),
    createdBy: z.string(),
    updatedAt: z.string(),
    updatedBy: z.string(),
  })
  .openapi('Secret');

// Shape only for the document: the rules (key names, sizes, count) are core's (`core/secret-rules.ts`).
const SecretInput = z
  .object({
    data: z.record(z.string(), z.string()).openapi({
      description: 'KEY: value; keys [A-Za-z_][A-Za-z0-9_]*, values at most 64 KiB, at most 100 keys',
      example: { DATABASE_PASSWORD: '…' },
    }),
  })
  .openapi('SecretInput');

const RotationBody = z.object({ kekId: z.string(), rewrapped: z.number().int() }).openapi('KeyRotation');

/** Adds the routes to `app`. */
export function registerSecretRoutes(app: OpenAPIHono, secrets: Secrets): void {
  app.openapi(
    createRoute({
      method: 'put',
      path: `${base}/{name}`,
      request: {
        params: named,
        // Validated by core's rules rather than zod's, so that no message can quote a value.
        body: { content: { 'application/json': { schema: SecretInput } }, required: true },
      },
      responses: { 200: json('Stored as a new version (metadata only)', SecretBody), ...errorResponses, ...tooLarge },
    }),
    async (c) => {
      const { environment, name } = c.req.valid('param');
      const body: unknown = await c.req.json();
      const data =
        typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as { data?: unknown }).data : body;
      if (typeof body === 'object' && body !== null && !Array.isArray(body))
        for (const key of Object.keys(body))
          if (key !== 'data')
            return c.json(
              { error: { code: 'INVALID_ARGUMENT', message: `${key}: unknown field (allowed: data)` } },
              400,
            );
      return c.json(await secrets.set(environment, name, data as Record<string, string>, actorOf(c)), 200);
    },
  );
  app.openapi(
    createRoute({
      method: 'get',
      path: `${base}/{name}`,
      request: { params: named },
      responses: { 200: json('The secret (metadata only)', SecretBody), ...errorResponses },
    }),
    async (c) => {
      const { environment, name } = c.req.valid('param');
      return c.json(await secrets.get(environment, name), 200);
    },
  );
  app.openapi(
    createRoute({
      method: 'get',
      path: base,
      request: { params: inEnvironment, query: Pagination },
      responses: { 200: json('Secrets of the environment (metadata only)', page(SecretBody)), ...errorResponses },
    }),
    async (c) => {
      const { environment } = c.req.valid('param');
      const { limit, continue: next } = c.req.valid('query');
      return c.json(await secrets.list(environment, { limit, ...(next === undefined ? {} : { continue: next }) }), 200);
    },
  );
  app.openapi(
    createRoute({
      method: 'delete',
      path: `${base}/{name}`,
      request: { params: named },
      responses: { 200: json('Deleted', DeletedResponse), ...errorResponses },
    }),
    async (c) => {
      const { environment, name } = c.req.valid('param');
      await secrets.delete(environment, name, actorOf(c));
      return c.json({ deleted: name }, 200);
    },
  );
  app.openapi(
    createRoute({
      method: 'post',
      path: '/api/v1/secrets/rotate-key',
      responses: { 200: json('Every data key re-wrapped under the new key', RotationBody), ...errorResponses },
    }),
    async (c) => c.json(await secrets.rotateKey(), 200),
  );
}
