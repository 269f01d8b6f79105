/**
 * A/B test feedback and results. `POST …/feedback` records the outcome of one served request
 * (`x-request-id`), attributed to the variant (workload revision) that answered it: given in the
 * body, or looked up in the gateway's recent assignments. `GET …/ab-results` gives conversion (or
 * mean outcome) per variant and a significance test.
 */
import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import type { FeedbackService } from '../services/feedback.js';
import { FeedbackInput } from './schemas.js';
import { AbResultsResponse, FeedbackBody } from './response-schemas.js';
import { actorOf, errorResponses as routeErrors, json, tooLarge } from './route-kit.js';

const errorResponses = routeErrors(400, 404, 409);
const target = z.object({ environment: z.string(), name: z.string() });
const base = '/api/v1/environments/{environment}/deployments/{name}';

/** What the feedback routes need. */
export interface FeedbackRouteDeps {
  /** Records feedback (cross-checked with the gateway's recent assignments) and computes the results. */
  feedback: FeedbackService;
}

/** Adds the routes to `app`. */
export function registerFeedbackRoutes(app: OpenAPIHono, { feedback }: FeedbackRouteDeps): void {
  app.openapi(
    createRoute({
      method: 'post',
      path: `${base}/feedback`,
      request: { params: target, body: { content: { 'application/json': { schema: FeedbackInput } }, required: true } },
      responses: { 201: json('Recorded', FeedbackBody), ...errorResponses, ...tooLarge },
    }),
    async (c) => {
      const { environment, name } = c.req.valid('param');
      const body = c.req.valid('json');
      const recorded = await feedback.record(name, environment, body, actorOf(c));
      return c.json(recorded, 201);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: `${base}/ab-results`,
      request: { params: target },
      responses: {
        200: json('Per-variant outcomes and a significance test', AbResultsResponse),
        ...errorResponses,
      },
    }),
    async (c) => {
      const { environment, name } = c.req.valid('param');
      return c.json(await feedback.results(name, environment), 200);
    },
  );
}
