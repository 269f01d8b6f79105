/**
 * Batch jobs: `POST /api/v1/jobs` creates one (every rule checked before anything is written; a
 * missing input, an unknown model or a CSV header that does not fit the model is a 400 naming the
 * field), `GET /api/v1/jobs?environment=` lists them (`scheduledBy=` lists one schedule's runs),
 * and under `/api/v1/environments/{environment}/jobs/{name}`: get, `logs`, `cancel`, `retry`.
 */
import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import type { JobsService } from '../services/jobs/jobs-service.js';
import { actorOf, errorResponses as routeErrors, json, tooLarge } from './route-kit.js';

const errorResponses = routeErrors(400, 404, 409);
const target = z.object({ environment: z.string(), name: z.string() });
const base = '/api/v1/environments/{environment}/jobs/{name}';

/** A job as the API answers it (see `core/resources/job.ts`). */
export const JobBody = z.looseObject({
  name: z.string(),
  environment: z.string(),
  spec: z.looseObject({ input: z.looseObject({ url: z.string() }), output: z.looseObject({ url: z.string() }) }),
  generation: z.number(),
  scheduledBy: z.string().optional(),
  status: z.looseObject({
    phase: z.enum(['Pending', 'Running', 'Succeeded', 'Failed', 'Cancelled']),
    rowsDone: z.number(),
    rowsFailed: z.number(),
    rowsTotal: z.number().optional(),
    rowsPerSecond: z.number(),
    etaSeconds: z.number().optional(),
    message: z.string().optional(),
    attempts: z.number(),
  }),
});
const JobList = z.object({ items: z.array(JobBody) });
const JobLogs = z.object({ lines: z.array(z.string()) });
const ListQuery = z.object({
  environment: z.string().min(1),
  scheduledBy: z.string().min(1).optional(),
  limit: z.coerce.number().int().min(1).max(1000).optional(),
});

/** Adds the routes to `app`. */
export function registerJobRoutes(app: OpenAPIHono, jobs: JobsService): void {
  app.openapi(
    createRoute({
      method: 'post',
      path: '/api/v1/jobs',
      request: { body: { content: { 'application/json': { schema: z.any() } }, required: true } },
      responses: { 201: json('Created', JobBody), ...errorResponses, ...tooLarge },
    }),
    async (c) => c.json(await jobs.create(await c.req.json(), actorOf(c)), 201),
  );
  app.openapi(
    createRoute({
      method: 'get',
      path: '/api/v1/jobs',
      request: { query: ListQuery },
      responses: { 200: json('Jobs of the environment, newest first', JobList), ...errorResponses },
    }),
    async (c) => c.json(await jobs.list(c.req.valid('query')), 200),
  );
  app.openapi(
    createRoute({
      method: 'get',
      path: base,
      request: { params: target },
      responses: { 200: json('A job', JobBody), ...errorResponses },
    }),
    async (c) => {
      const { environment, name } = c.req.valid('param');
      return c.json(await jobs.get(environment, name), 200);
    },
  );
  app.openapi(
    createRoute({
      method: 'get',
      path: `${base}/logs`,
      request: {
        params: target,
        query: z.object({ tail: z.coerce.number().int().min(1).max(10_000).optional() }),
      },
      responses: { 200: json("The last lines of the job's workers", JobLogs), ...errorResponses },
    }),
    async (c) => {
      const { environment, name } = c.req.valid('param');
      return c.json(await jobs.logs(environment, name, c.req.valid('query').tail), 200);
    },
  );
  for (const action of ['cancel', 'retry'] as const) {
    app.openapi(
      createRoute({
        method: 'post',
        path: `${base}/${action}`,
        request: { params: target },
        responses: {
          200: json(action === 'cancel' ? 'Cancel requested' : 'Started again', JobBody),
          ...errorResponses,
        },
      }),
      async (c) => {
        const { environment, name } = c.req.valid('param');
        return c.json(await jobs[action](environment, name), 200);
      },
    );
  }
}
