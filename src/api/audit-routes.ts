/**
 * The audit trail's API (permission `audit:read`): `GET /api/v1/audit` lists events with filters,
 * `GET /api/v1/audit/verify` checks the chain and its checkpoints and names the first bad event
 * (200 either way: the answer's `ok` says), `GET /api/v1/audit/export` streams the whole chain as
 * JSON Lines (`application/x-ndjson`).
 */
import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { stream } from 'hono/streaming';
import type { AuditTrail } from '../services/audit/audit-trail.js';
import { errorResponses, json } from './route-kit.js';

const AuditEventBody = z
  .object({
    seq: z.number().int(),
    time: z.string(),
    actor: z.object({ id: z.string(), name: z.string(), type: z.string() }),
    action: z.string(),
    resource: z.object({ kind: z.string(), name: z.string().nullable() }),
    environment: z.string().nullable(),
    outcome: z.enum(['success', 'denied', 'failed']),
    status: z.number().int().nullable(),
    requestId: z.string(),
    sourceAddress: z.string(),
    summary: z.string(),
    prevHash: z.string(),
    hash: z.string(),
  })
  .openapi('AuditEvent');

const AuditList = z.object({ items: z.array(AuditEventBody), continue: z.string().optional() }).openapi('AuditList');

const Problem = z.object({
  seq: z.number().int(),
  reason: z.enum([
    'hash-mismatch',
    'broken-link',
    'gap-or-reorder',
    'truncated',
    'head-mismatch',
    'checkpoint-mismatch',
    'bad-checkpoint-signature',
  ]),
  message: z.string(),
});

const AuditVerificationBody = z
  .object({
    ok: z.boolean(),
    events: z.number().int(),
    last: z.object({ seq: z.number().int(), hash: z.string() }),
    checkpoints: z.number().int(),
    firstProblem: Problem.optional(),
    problems: z.array(Problem),
  })
  .openapi('AuditVerification');

const ListQuery = z.object({
  since: z.string().optional().openapi({ description: 'ISO-8601 time: events at or after it' }),
  actor: z.string().optional().openapi({ description: 'Principal id (user:…) or name' }),
  action: z.string().optional().openapi({ description: 'An action, or a prefix ending in "." (deployments.)' }),
  resource: z.string().optional().openapi({ description: 'kind/name (deployment/risk), a kind or a name' }),
  environment: z.string().optional(),
  outcome: z.enum(['success', 'denied', 'failed']).optional(),
  limit: z.coerce.number().int().min(1).max(1000).optional(),
  continue: z.string().optional(),
});

/** Adds the routes to `app`. */
export function registerAuditRoutes(app: OpenAPIHono, trail: AuditTrail): void {
  app.openapi(
    createRoute({
      method: 'get',
      path: '/api/v1/audit',
      request: { query: ListQuery },
      responses: { 200: json('Audit events, oldest first', AuditList), ...errorResponses(400) },
    }),
    async (c) => {
      const page = await trail.list(c.req.valid('query'));
      return c.json(
        {
          items: page.items.map(({ resourceVersion: _, ...e }) => e),
          ...(page.continue ? { continue: page.continue } : {}),
        },
        200,
      );
    },
  );
  app.openapi(
    createRoute({
      method: 'get',
      path: '/api/v1/audit/verify',
      responses: {
        200: json('The verification (ok: false names the first bad event)', AuditVerificationBody),
        ...errorResponses(),
      },
    }),
    async (c) => c.json(await trail.verify(), 200),
  );
  app.openAPIRegistry.registerPath(
    createRoute({
      method: 'get',
      path: '/api/v1/audit/export',
      responses: {
        200: {
          description: 'The whole chain, one AuditEvent per line (JSON Lines)',
          content: { 'application/x-ndjson': { schema: AuditEventBody } },
        },
        ...errorResponses(),
      },
    }),
  );
  app.get('/api/v1/audit/export', (c) => {
    c.header('content-type', 'application/x-ndjson');
    return stream(c, async (out) => {
      for await (const line of trail.exportJsonLines()) await out.write(line);
    });
  });
}
