/**
 * Analysis templates: `PUT /api/v1/analysis-templates/{name}` creates or replaces one (validated by
 * `core/analysis`), `GET` lists (built-in ones included, marked) or gets, `DELETE` removes one.
 */
import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { BUILTIN_ANALYSIS_TEMPLATES, validateAnalysisTemplate } from '../core/analysis/index.js';
import { hasErrorCode, InvalidArgumentError, NotFoundError, unlessNotFound } from '../core/errors.js';
import type { Store } from '../store/store.js';

import { AnalysisTemplateBody, AnalysisTemplateList, DeletedResponse } from './response-schemas.js';
import { actorOf, errorResponses as routeErrors, json, tooLarge } from './route-kit.js';

const errorResponses = routeErrors(400, 404, 409);
const named = z.object({ name: z.string() });

/** Adds the routes to `app`. */
export function registerAnalysisTemplateRoutes(app: OpenAPIHono, store: Store): void {
  app.openapi(
    createRoute({
      method: 'get',
      path: '/api/v1/analysis-templates',
      responses: { 200: json('Stored and built-in templates', AnalysisTemplateList), ...routeErrors() },
    }),
    async (c) => {
      const stored = (await store.analysisTemplates.list({ limit: 1000 })).items.map((t) => ({
        ...t.template,
        name: t.name,
        builtin: false,
      }));
      const builtin = Object.values(BUILTIN_ANALYSIS_TEMPLATES)
        .filter((t) => !stored.some((s) => s.name === t.name))
        .map((t) => ({ ...t, builtin: true }));
      return c.json({ items: [...stored, ...builtin] }, 200);
    },
  );
  app.openapi(
    createRoute({
      method: 'get',
      path: '/api/v1/analysis-templates/{name}',
      request: { params: named },
      responses: { 200: json('A template', AnalysisTemplateBody), ...errorResponses },
    }),
    async (c) => {
      const { name } = c.req.valid('param');
      const stored = await unlessNotFound(store.analysisTemplates.get(name));
      if (stored !== undefined) return c.json(stored.template, 200);
      const builtin = (BUILTIN_ANALYSIS_TEMPLATES as Record<string, object | undefined>)[name];
      if (builtin === undefined) throw new NotFoundError(`analysis template ${JSON.stringify(name)} not found`);
      return c.json({ ...builtin }, 200);
    },
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
      const template = validateAnalysisTemplate(await c.req.json(), '');
      if (template.name !== name)
        throw new InvalidArgumentError(
          `name: must match the URL (${JSON.stringify(name)}), got ${JSON.stringify(template.name)}`,
        );
      const at = new Date().toISOString();
      const current = await unlessNotFound(store.analysisTemplates.get(name));
      const doc = {
        name,
        template: template as unknown as Record<string, unknown>,
        updatedAt: at,
        updatedBy: actorOf(c),
      };
      const saved =
        current === undefined
          ? await store.analysisTemplates.create(doc)
          : await store.analysisTemplates.update({ ...current, ...doc });
      return c.json(saved.template, 200);
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
      await store.analysisTemplates.delete(c.req.valid('param').name).catch((e: unknown) => {
        throw hasErrorCode(e, 'NOT_FOUND')
          ? new NotFoundError(`analysis template ${JSON.stringify(c.req.valid('param').name)} not found`)
          : e;
      });
      return c.json({ deleted: c.req.valid('param').name }, 200);
    },
  );
}
