/**
 * Autoscaling endpoints: what the autoscaler decided and measured for a deployment (size, last
 * decision with its reason, forecast and its error, CPU / memory recommendations), and the
 * activation call gateways make when they hold requests for a deployment scaled to zero.
 */
import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { resolveScaling, autoscaled } from '../core/autoscaling/scaling-spec.js';
import { deploymentId } from '../core/deployment-identity.js';
import { unlessNotFound } from '../core/errors.js';
import type { AutoscalerState } from '../core/resources.js';
import type { DeploymentService } from '../controller/deployment-service.js';
import type { Store } from '../store/store.js';
import { ActivateResponse, AutoscalingResponse } from './response-schemas.js';
import { errorResponses as routeErrors, json } from './route-kit.js';

const errorResponses = routeErrors(400, 404);
const target = z.object({ environment: z.string(), name: z.string() });
const base = '/api/v1/environments/{environment}/deployments/{name}';

/** What the autoscaling routes need. */
export interface AutoscalingRouteDeps {
  store: Store;
  deployments: DeploymentService;
  /** Wakes the autoscaler for a deployment with held requests; false when it does not autoscale (or this replica is not the leader). */
  activate?: (environment: string, name: string) => Promise<boolean>;
}

/** The record as the API shows it: the bulky series (history, usage samples) summarised unless asked for. */
export function autoscalingView(state: AutoscalerState | undefined, full: boolean): Record<string, unknown> | null {
  if (state === undefined) return null;
  if (full) return { ...state };
  const { history, usage, ...rest } = state;
  return {
    ...rest,
    ...(history === undefined
      ? {}
      : { history: { bucketSeconds: history.bucketSeconds, start: history.start, buckets: history.rates.length } }),
    ...(usage === undefined ? {} : { usageSamples: usage.length }),
  };
}

/** Adds the autoscaling routes to `app`. */
export function registerAutoscalingRoutes(
  app: OpenAPIHono,
  { store, deployments, activate }: AutoscalingRouteDeps,
): void {
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
      const deployment = await deployments.get(name, environment);
      const state = await unlessNotFound(store.autoscalers.get(deploymentId(environment, name)));
      const scaling = deployment.configuration.scaling;
      return c.json(
        {
          autoscaled: autoscaled(scaling),
          scaling: resolveScaling(scaling),
          state: autoscalingView(state, c.req.valid('query').full === 'true'),
        },
        200,
      );
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
      await deployments.get(name, environment);
      const activated = activate === undefined ? false : await activate(environment, name);
      return c.json({ activated }, 202);
    },
  );
}
