/** Registry endpoints: push a version (streamed), list and get models and versions, download by digest. */
import { Readable } from 'node:stream';
import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { InvalidArgumentError } from '../core/errors.js';
import { listModelSummaries, type ModelCatalog } from '../services/models.js';
import { ModelBody, ModelPage, ModelVersionBody, ModelVersionList } from './response-schemas.js';
import { errorResponses, json } from './route-kit.js';
import { ArtifactBytes } from './stream-schemas.js';
import { Pagination } from './schemas.js';

const errors = errorResponses(400, 404);

/** Adds the registry's routes to `app`. */
export function registerModelRoutes(app: OpenAPIHono, models: ModelCatalog): void {
  app.openapi(
    createRoute({
      method: 'post',
      path: '/api/v1/models/{name}/versions',
      summary: 'Upload an ONNX file (request body, application/octet-stream) as a new immutable version',
      request: {
        params: z.object({ name: z.string() }),
        query: z.object({
          version: z.string().openapi({ example: '1.0.0' }),
          filename: z.string().optional(),
          labels: z.string().optional().openapi({ description: 'JSON object of string labels' }),
          metrics: z
            .string()
            .optional()
            .openapi({ description: 'JSON object of numbers, e.g. {"auc":0.91}; admission policies read them' }),
          description: z.string().optional(),
        }),
      },
      responses: {
        201: json('The new version', ModelVersionBody),
        ...errors,
        ...errorResponses(409, 413),
      },
    }),
    async (c) => {
      const { name } = c.req.valid('param');
      const q = c.req.valid('query');
      const body = c.req.raw.body;
      if (!body) throw new InvalidArgumentError('body: the model file is required (send it as the request body)');
      const version = await models.pushVersion(
        {
          model: name,
          version: q.version,
          filename: q.filename,
          labels: parseLabels(q.labels),
          metrics: parseMetrics(q.metrics),
          description: q.description,
        },
        Readable.fromWeb(body as never),
      );
      return c.json(version, 201);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/api/v1/models',
      request: { query: Pagination },
      responses: { 200: json('Models', ModelPage), ...errorResponses(400) },
    }),
    async (c) => {
      const { limit, continue: token } = c.req.valid('query');
      return c.json(await listModelSummaries(models, { limit, continue: token }), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/api/v1/models/{name}',
      request: { params: z.object({ name: z.string() }) },
      responses: { 200: json('A model', ModelBody), ...errors },
    }),
    async (c) => c.json(await models.getModel(c.req.valid('param').name), 200),
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/api/v1/models/{name}/versions',
      request: { params: z.object({ name: z.string() }) },
      responses: { 200: json('Versions, newest first', ModelVersionList), ...errors },
    }),
    async (c) => c.json({ items: await models.listVersions(c.req.valid('param').name) }, 200),
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/api/v1/models/{name}/versions/{version}',
      request: { params: z.object({ name: z.string(), version: z.string() }) },
      responses: { 200: json('A version', ModelVersionBody), ...errors },
    }),
    async (c) => {
      const { name, version } = c.req.valid('param');
      return c.json(await models.getVersion(name, version), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/api/v1/blobs/{digest}',
      request: { params: z.object({ digest: z.string().openapi({ example: 'sha256:…' }) }) },
      responses: {
        200: { description: 'The artifact', content: { 'application/octet-stream': { schema: ArtifactBytes } } },
        ...errors,
      },
    }),
    async (c) => {
      const stream = await models.openArtifact(c.req.param('digest'));
      return c.body(Readable.toWeb(stream) as never, 200, { 'content-type': 'application/octet-stream' });
    },
  );
}

function parseLabels(text: string | undefined): Record<string, string> | undefined {
  if (text === undefined) return undefined;
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed))
      return parsed as Record<string, string>;
  } catch {
    // fall through to the error below
  }
  throw new InvalidArgumentError('labels: must be a JSON object of string values');
}

function parseMetrics(text: string | undefined): Record<string, number> | undefined {
  if (text === undefined) return undefined;
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed))
      return parsed as Record<string, number>;
  } catch {
    // fall through to the error below
  }
  throw new InvalidArgumentError('metrics: must be a JSON object of numbers, e.g. {"auc":0.91}');
}
