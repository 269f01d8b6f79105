/**
 * Bundle endpoints (`wharf app push`): push a version (the request body is the `.tar.gz`,
 * streamed), list bundles, list and get versions. The bytes download through the registry's
 * `/api/v1/blobs/{digest}` like model artifacts (Kubernetes init containers fetch them there).
 */
import { Readable } from 'node:stream';
import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { InvalidArgumentError } from '../core/errors.js';
import type { BundleCatalog } from '../services/bundles.js';
import { errorResponses, json } from './route-kit.js';

const errors = errorResponses(400, 404);

/** One pushed bundle version, as the API answers it. */
export const BundleVersionBody = z
  .object({
    bundle: z.string(),
    version: z.string(),
    artifact: z.object({ digest: z.string(), size: z.number(), filename: z.string() }),
    files: z.number(),
    labels: z.record(z.string(), z.string()),
    createdAt: z.string(),
    resourceVersion: z.number(),
  })
  .openapi('BundleVersion');
const BundleSummaryBody = z.object({ name: z.string(), versions: z.number(), latestVersion: z.string() });

/** Adds the bundle routes to `app`. */
export function registerBundleRoutes(app: OpenAPIHono, bundles: BundleCatalog): void {
  app.openapi(
    createRoute({
      method: 'post',
      path: '/api/v1/bundles/{name}/versions',
      summary:
        'Upload a .tar.gz of application code (request body, application/octet-stream) as a new immutable version',
      request: {
        params: z.object({ name: z.string() }),
        query: z.object({
          version: z.string().openapi({ example: '1.2.0' }),
          labels: z.string().optional().openapi({ description: 'JSON object of string labels' }),
        }),
      },
      responses: { 201: json('The new version', BundleVersionBody), ...errors, ...errorResponses(409, 413) },
    }),
    async (c) => {
      const { name } = c.req.valid('param');
      const q = c.req.valid('query');
      const body = c.req.raw.body;
      if (!body) throw new InvalidArgumentError('bundle: the .tar.gz is required (send it as the request body)');
      const version = await bundles.pushVersion(
        { bundle: name, version: q.version, ...(q.labels === undefined ? {} : { labels: parseLabels(q.labels) }) },
        Readable.fromWeb(body as never),
      );
      return c.json(version, 201);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/api/v1/bundles',
      responses: { 200: json('Bundles', z.object({ items: z.array(BundleSummaryBody) })), ...errorResponses(400) },
    }),
    async (c) => c.json({ items: await bundles.listBundles() }, 200),
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/api/v1/bundles/{name}/versions',
      request: { params: z.object({ name: z.string() }) },
      responses: { 200: json('Versions, newest first', z.object({ items: z.array(BundleVersionBody) })), ...errors },
    }),
    async (c) => c.json({ items: await bundles.listVersions(c.req.valid('param').name) }, 200),
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/api/v1/bundles/{name}/versions/{version}',
      request: { params: z.object({ name: z.string(), version: z.string() }) },
      responses: { 200: json('A version', BundleVersionBody), ...errors },
    }),
    async (c) => {
      const { name, version } = c.req.valid('param');
      return c.json(await bundles.getVersion(name, version), 200);
    },
  );
}

function parseLabels(text: string): Record<string, string> {
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed))
      return parsed as Record<string, string>;
  } catch {
    // fall through to the error below
  }
  throw new InvalidArgumentError('labels: must be a JSON object of string values');
}
