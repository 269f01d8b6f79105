/** The path, path parameters and error answers shared by every route under one deployment. */
import { z } from '@hono/zod-openapi';
import { errorResponses } from './route-kit.js';

/** The errors any route of one deployment may answer. */
export const DEPLOYMENT_ERRORS = errorResponses(400, 404, 409);
/** The path parameters naming one deployment. */
export const DeploymentTarget = z.object({ environment: z.string(), name: z.string() });
/** The path of one deployment, in OpenAPI's `{param}` form. */
export const DEPLOYMENT_PATH = '/api/v1/environments/{environment}/deployments/{name}';
