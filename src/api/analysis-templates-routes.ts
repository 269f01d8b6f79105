/**
 * Analysis templates: `PUT /api/v1/analysis-templates/{name}` creates or replaces one (validated by
 * `core/analysis`), `GET` lists (built-in ones included, marked) or gets, `DELETE` removes one.
 */
import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import type { AnalysisTemplates } from '../services/analysis-templates.js';
import { AnalysisTemplateBody, AnalysisTemplateList, DeletedResponse } from './response-schemas.js';
import { actorOf, errorResponses as routeErrors, json, tooLarge } from './route-kit.js';

const errorResponses = routeErrors(400, 404, 409);
const named = z.object({ name: z.string() });

/** Adds the routes to `app`. */
export function registerAnalysisTemplateRoutes(app: OpenAPIHono, templates: AnalysisTemplates): void {
  app.openapi(
    createRoute({
      method: 'get',
      path: '/api/v1/analysis-templates',
      responses: { 200: json('Stored and built-in templates', AnalysisTemplateList), ...routeErrors() },
    }),
    async (c) => c.json(await templates.list(), 200),
  );
  app.openapi(
    createRoute({
      method: 'get',
      path: '/api/v1/analysis-templates/{name}',
      request: { params: named },
      responses: { 200: json('A template', AnalysisTemplateBody), ...errorResponses },
    }),
    async (c) => c.json(await templates.get(c.req.valid('param').name), 200),
  );
  app.openapi(
    createRoute({
      method: 'put',
      path: '/api/v1/analysis-templates/{name}',
      request: { params: named, body: { content: { 'application/json': { schema: z.any() } }, required: true } },
      responses: { 200: json('Stored', AnalysisTemplateBody), ...errorResponses, ...tooLarge },
    }),
    async (c) => {
      const { name } = c.req.valid('param');
      return c.json(await templates.put(name, await c.req.json(), actorOf(c)), 200);
    },
  );
  app.openapi(
    createRoute({
      method: 'delete',
      path: '/api/v1/analysis-templates/{name}',
      request: { params: named },
      responses: { 200: json('Deleted', DeletedResponse), ...errorResponses },
    }),
    async (c) => {
      return c.json(await templates.delete(c.req.valid('param').name), 200);
    },
  );
}
