/**
 * Autoscaling endpoints: what the autoscaler decided and measured for a deployment (size, last
 * decision with its reason, forecast and its error, CPU / memory recommendations), and the
 * activation call gateways make when they hold requests for a deployment scaled to zero.
 */
import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import type { AutoscalingStatus } from '../services/autoscaling-status.js';
import { ActivateResponse, AutoscalingResponse } from './response-schemas.js';
import { errorResponses as routeErrors, json } from './route-kit.js';

const errorResponses = routeErrors(400, 404);
const target = z.object({ environment: z.string(), name: z.string() });
const base = '/api/v1/environments/{environment}/deployments/{name}';

/** What the autoscaling routes need. */
export interface AutoscalingRouteDeps {
  /** The autoscaler's view of a deployment, and activation of held requests. */
  autoscaling: AutoscalingStatus;
}

/** Adds the autoscaling routes to `app`. */
export function registerAutoscalingRoutes(app: OpenAPIHono, { autoscaling }: AutoscalingRouteDeps): void {
  app.openapi(
    createRoute({
      method: 'get',
      path: `${base}/autoscaling`,
      request: {
        params: target,
        query: z.object({
          full: z
            .enum(['true', 'false'])
            .optional()
            .openapi({ description: 'Include the rate history and usage samples' }),
        }),
      },
      responses: {
        200: json(
          "The scaling spec with defaults, and the autoscaler's state (null before its first decision)",
          AutoscalingResponse,
        ),
        ...errorResponses,
      },
    }),
    async (c) => {
      const { environment, name } = c.req.valid('param');
      return c.json(await autoscaling.status(name, environment, c.req.valid('query').full === 'true'), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: `${base}/activate`,
      request: { params: target },
      responses: {
        202: json(
          'The autoscaler was woken (activated: false when the deployment does not autoscale here)',
          ActivateResponse,
        ),
        ...errorResponses,
      },
    }),
    async (c) => {
      const { environment, name } = c.req.valid('param');
      return c.json(await autoscaling.activate(name, environment), 202);
    },
  );
}
