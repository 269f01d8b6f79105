/**
 * A/B test feedback and results. `POST …/feedback` records the outcome of one served request
 * (`x-request-id`), attributed to the variant (workload revision) that answered it: given in the
 * body, or looked up in the gateway's recent assignments. `GET …/ab-results` gives conversion (or
 * mean outcome) per variant and a significance test.
 */
import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import type { DeploymentService } from '../controller/deployment-service.js';
import { abResults } from '../controller/ab-results.js';
import { InvalidArgumentError } from '../core/errors.js';
import type { Store } from '../store/store.js';
import { FeedbackInput } from './schemas.js';
import { AbResultsResponse, FeedbackBody } from './response-schemas.js';
import { actorOf, errorResponses as routeErrors, json, tooLarge } from './route-kit.js';

const errorResponses = routeErrors(400, 404, 409);
type Assignment = { environment: string; deployment: string; revision: number };
const target = z.object({ environment: z.string(), name: z.string() });
const base = '/api/v1/environments/{environment}/deployments/{name}';

/** What the feedback routes need. */
export interface FeedbackRouteDeps {
  store: Store;
  deployments: DeploymentService;
  /** The revision that answered a request, from the gateway's recent assignments; may throw UnavailableError when the gateway does not answer. */
  assignmentOf?(requestId: string): Assignment | undefined | Promise<Assignment | undefined>;
}

/** Adds the routes to `app`. */
export function registerFeedbackRoutes(
  app: OpenAPIHono,
  { store, deployments, assignmentOf }: FeedbackRouteDeps,
): void {
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
      const d = await deployments.get(name, environment);
      let assigned: Assignment | undefined;
      try {
        assigned = await assignmentOf?.(body.requestId);
      } catch (err) {
        // With the variant given, the feedback stands without the gateway's cross-check.
        if (body.revision === undefined) throw err;
      }
      if (assigned !== undefined && (assigned.environment !== environment || assigned.deployment !== name)) {
        throw new InvalidArgumentError(
          `requestId: request ${body.requestId} was served by ${assigned.deployment} in ${assigned.environment}, not ${name} in ${environment}`,
        );
      }
      const revision = body.revision ?? assigned?.revision;
      if (revision === undefined) {
        throw new InvalidArgumentError(
          `revision: the gateway has no record of request ${body.requestId}; send the variant's revision (the x-wharf-revision response header)`,
        );
      }
      if (assigned !== undefined && body.revision !== undefined && body.revision !== assigned.revision) {
        throw new InvalidArgumentError(
          `revision: request ${body.requestId} was answered by revision ${assigned.revision}, not ${body.revision}`,
        );
      }
      const outcome = typeof body.outcome === 'boolean' ? (body.outcome ? 1 : 0) : body.outcome;
      if (!Number.isFinite(outcome)) throw new InvalidArgumentError('outcome: must be a finite number or a boolean');
      const recorded = await store.feedback.create({
        deployment: d.id,
        requestId: body.requestId,
        revision,
        outcome,
        time: new Date().toISOString(),
        by: actorOf(c),
      });
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
      const d = await deployments.get(name, environment);
      return c.json(await abResults(store, d), 200);
    },
  );
}
