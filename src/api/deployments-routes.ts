/**
 * Deployment endpoints: create, list, get, update, scale, roll back, delete; revisions, diff, events;
 * replica logs and the route-table watch stream that gateways follow (registered from stream-routes.ts). Rules beyond the schemas
 * (environment exists, model version exists, …) are the DeploymentService's; both answer 4xx naming
 * the field, and a rejected request changes nothing.
 */
import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { InvalidArgumentError } from '../core/errors.js';
import type { ChangeGate } from '../services/change-gate.js';
import type { DeploymentService } from '../services/deployment-service.js';
import type { RouteFeed } from '../services/route-feed.js';
import type { WorkloadLogs } from '../services/workload-logs.js';
import { DeploymentCreate, DeploymentUpdate, Pagination, Rollback, Scale } from './schemas.js';
import { DEPLOYMENT_ERRORS, DEPLOYMENT_PATH, DeploymentTarget } from './deployment-params.js';
import { actorOf, errorResponses as routeErrors, json, jsonBody, tooLarge } from './route-kit.js';
import {
  DeploymentBody,
  DeploymentPage,
  DiffResponse,
  EventPage,
  PendingApproval,
  RevisionBody,
  RevisionPage,
} from './response-schemas.js';
import { registerStreamRoutes } from './stream-routes.js';

const errorResponses = DEPLOYMENT_ERRORS;
const target = DeploymentTarget;
const base = DEPLOYMENT_PATH;

/** What the deployment routes need. */
export interface DeploymentRouteDeps {
  deployments: DeploymentService;
  /** The environments that exist, for listing across all of them. */
  environments: () => Promise<{ name: string }[]>;
  /** Replica logs of a deployment's workloads. */
  logs: WorkloadLogs;
  /** The route table and its changes, for the watch stream. */
  routes: RouteFeed;
  /** Holds changes to environments that require approval (see change-gate.ts). */
  gate: ChangeGate;
}

/** 202 with the pending approval, or the change's own status and result. */
const answer = <T>(c: Context, outcome: { applied: T } | { approval: unknown }, status: 200 | 201 | 202) =>
  'approval' in outcome ? c.json({ approval: outcome.approval }, 202) : c.json(outcome.applied as object, status);

/** Adds the deployment routes to `app`. */
export function registerDeploymentRoutes(
  app: OpenAPIHono,
  { deployments, environments, logs, routes, gate }: DeploymentRouteDeps,
): void {
  const pending = {
    202: json('The environment requires approval: the change waits as a pending approval', PendingApproval),
  };
  app.openapi(
    createRoute({
      method: 'post',
      path: '/api/v1/deployments',
      request: jsonBody(DeploymentCreate),
      responses: { 201: json('Created', DeploymentBody), ...pending, ...errorResponses, ...tooLarge },
    }),
    async (c) => {
      const { reason, ...input } = c.req.valid('json');
      const actor = actorOf(c);
      const runs = input.model ?? input.bundle;
      const summary = `create ${input.name} with ${runs === undefined ? input.type : `${runs.name} ${runs.version}`}`;
      const outcome = await gate.submit(
        {
          environment: input.environment,
          deploymentName: input.name,
          action: 'create',
          request: { input },
          summary,
          actor,
          reason,
          precheck: () => deployments.admissionPrecheck(input.environment, input),
        },
        () => deployments.create(input, { actor, reason }),
      );
      return answer(c, outcome, 201);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/api/v1/deployments',
      request: { query: Pagination.extend({ environment: z.string().optional() }) },
      responses: {
        200: json('Deployments: one page of one environment, or the first page of each', DeploymentPage),
        ...routeErrors(400),
      },
    }),
    async (c) => {
      const { environment, limit, continue: token } = c.req.valid('query');
      if (environment) return c.json(await deployments.list(environment, { limit, continue: token }), 200);
      // Without an environment the answer is the first page of each: no token can continue that.
      if (token !== undefined)
        throw new InvalidArgumentError(
          'continue: paging needs environment= (without it the list is the first page of every environment)',
        );
      const envs = (await environments()).map((e) => e.name);
      const items = (await Promise.all(envs.map((e) => deployments.list(e, { limit }).then((p) => p.items)))).flat();
      return c.json({ items }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: base,
      request: { params: target },
      responses: { 200: json('A deployment', DeploymentBody), ...errorResponses },
    }),
    async (c) => {
      const { environment, name } = c.req.valid('param');
      return c.json(await deployments.get(name, environment), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'patch',
      path: base,
      request: { params: target, ...jsonBody(DeploymentUpdate) },
      responses: { 200: json('Updated', DeploymentBody), ...pending, ...errorResponses, ...tooLarge },
    }),
    async (c) => {
      const { environment, name } = c.req.valid('param');
      const { resourceVersion, reason, ...patch } = c.req.valid('json');
      const actor = actorOf(c);
      const outcome = await gate.submit(
        {
          environment,
          deploymentName: name,
          action: 'update',
          request: { name, environment, patch },
          summary: `update ${name}: ${JSON.stringify(patch)}`,
          actor,
          reason,
          precheck: () => deployments.admissionPrecheck(environment, { name, ...patch }, true),
        },
        () => deployments.update(name, environment, patch, { actor, reason, expectedResourceVersion: resourceVersion }),
      );
      return answer(c, outcome, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: `${base}/scale`,
      request: { params: target, ...jsonBody(Scale) },
      responses: { 200: json('Scaled', DeploymentBody), ...pending, ...errorResponses, ...tooLarge },
    }),
    async (c) => {
      const { environment, name } = c.req.valid('param');
      const { replicas, reason } = c.req.valid('json');
      const actor = actorOf(c);
      await deployments.checkScale(name, environment, replicas);
      const outcome = await gate.submit(
        {
          environment,
          deploymentName: name,
          action: 'scale',
          request: { name, environment, replicas },
          summary: `scale ${name} to ${replicas}`,
          actor,
          reason,
          precheck: () => deployments.admissionPrecheck(environment, { name, configuration: { replicas } }, true),
        },
        () => deployments.scale(name, environment, replicas, { actor, reason }),
      );
      return answer(c, outcome, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: `${base}/rollback`,
      request: { params: target, ...jsonBody(Rollback) },
      responses: { 200: json('Rolled back', DeploymentBody), ...pending, ...errorResponses, ...tooLarge },
    }),
    async (c) => {
      const { environment, name } = c.req.valid('param');
      const { toRevision, reason } = c.req.valid('json');
      const actor = actorOf(c);
      const outcome = await gate.submit(
        {
          environment,
          deploymentName: name,
          action: 'rollback',
          request: { name, environment, toRevision },
          summary: `roll ${name} back${toRevision ? ` to revision ${toRevision}` : ''}`,
          actor,
          reason,
        },
        () => deployments.rollback(name, environment, { actor, reason, toRevision }),
      );
      return answer(c, outcome, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'delete',
      path: base,
      request: { params: target },
      responses: {
        202: json('Deletion started, or the change waits as a pending approval', DeploymentBody.or(PendingApproval)),
        ...errorResponses,
      },
    }),
    async (c) => {
      const { environment, name } = c.req.valid('param');
      const actor = actorOf(c);
      const outcome = await gate.submit(
        {
          environment,
          deploymentName: name,
          action: 'delete',
          request: { name, environment },
          summary: `delete ${name}`,
          actor,
        },
        () => deployments.delete(name, environment, { actor }),
      );
      return answer(c, outcome, 202);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: `${base}/revisions`,
      request: { params: target, query: Pagination },
      responses: { 200: json('Revisions', RevisionPage), ...errorResponses },
    }),
    async (c) => {
      const { environment, name } = c.req.valid('param');
      const { limit, continue: token } = c.req.valid('query');
      return c.json(await deployments.listRevisions(name, environment, { limit, continue: token }), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: `${base}/revisions/{number}`,
      request: { params: target.extend({ number: z.coerce.number().int().positive() }) },
      responses: { 200: json('A revision', RevisionBody), ...errorResponses },
    }),
    async (c) => {
      const { environment, name, number } = c.req.valid('param');
      return c.json(await deployments.getRevision(name, environment, number), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: `${base}/diff`,
      request: {
        params: target,
        query: z.object({ a: z.coerce.number().int().positive(), b: z.coerce.number().int().positive() }),
      },
      responses: { 200: json('Field-level diff', DiffResponse), ...errorResponses },
    }),
    async (c) => {
      const { environment, name } = c.req.valid('param');
      const { a, b } = c.req.valid('query');
      return c.json(await deployments.diff(name, environment, a, b), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: `${base}/events`,
      request: { params: target, query: Pagination },
      responses: { 200: json('Events', EventPage), ...errorResponses },
    }),
    async (c) => {
      const { environment, name } = c.req.valid('param');
      const { limit, continue: token } = c.req.valid('query');
      return c.json(await deployments.events(name, environment, { limit, continue: token }), 200);
    },
  );

  registerStreamRoutes(app, { deployments, logs, routes });
}
