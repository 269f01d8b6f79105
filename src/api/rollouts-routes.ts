/**
 * Rollout control and governance endpoints: promote / abort / retry a rollout, promote a revision
 * from one environment to another, approvals (list, approve, reject), incidents, and environments
 * (list, get, set policy, and the dry run of their admission policies). Rules are the services'; this file maps HTTP onto them.
 */
import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import type { ZodType } from 'zod';
import { InvalidArgumentError } from '../core/errors.js';
import type { ChangeGate } from '../services/change-gate.js';
import type { DeploymentService } from '../services/deployment-service.js';
import type { Promotions } from '../services/environment-promotion.js';
import type { Environments } from '../services/environments.js';
import {
  ApprovalDecision,
  EnvironmentPromotion,
  EnvironmentUpdate,
  Pagination,
  PolicyTestRequest,
  Promote,
  RolloutCommand,
} from './schemas.js';
import { PolicyTestResult } from './policy-schemas.js';
import { actorOf, errorResponses as routeErrors, json, jsonBody, tooLarge } from './route-kit.js';
import {
  ApprovalBody,
  ApprovalPage,
  DeploymentBody,
  EnvironmentBody,
  EnvironmentPage,
  IncidentPage,
  PendingApproval,
} from './response-schemas.js';

const errorResponses = routeErrors(400, 403, 404, 409);
const target = z.object({ environment: z.string(), name: z.string() });
const base = '/api/v1/environments/{environment}/deployments/{name}';

/** What these routes need. */
export interface RolloutRouteDeps {
  deployments: DeploymentService;
  /** Promotion of a revision from one environment to another. */
  promotions: Promotions;
  /** Environments (policies) and their incidents. */
  environments: Environments;
  gate: ChangeGate;
}

/** Adds the routes to `app`. */
export function registerRolloutRoutes(
  app: OpenAPIHono,
  { deployments, promotions, environments, gate }: RolloutRouteDeps,
): void {
  const ok = <T extends ZodType>(description: string, schema: T) => ({
    200: json(description, schema),
    ...errorResponses,
  });
  /** The same for a route with a request body, which may be too large. */
  const okWithBody = <T extends ZodType>(description: string, schema: T) => ({
    ...ok(description, schema),
    ...tooLarge,
  });

  app.openapi(
    createRoute({
      method: 'post',
      path: `${base}/promote`,
      request: { params: target, ...jsonBody(Promote) },
      responses: okWithBody('Promotion recorded', DeploymentBody),
    }),
    async (c) => {
      const { environment, name } = c.req.valid('param');
      const { full, reason } = c.req.valid('json');
      return c.json(
        await deployments.rolloutCommand(name, environment, 'promote', { actor: actorOf(c), reason, full }),
        200,
      );
    },
  );
  for (const action of ['abort', 'retry'] as const) {
    app.openapi(
      createRoute({
        method: 'post',
        path: `${base}/${action}`,
        request: { params: target, ...jsonBody(RolloutCommand) },
        responses: okWithBody(`${action} recorded`, DeploymentBody),
      }),
      async (c) => {
        const { environment, name } = c.req.valid('param');
        const { reason } = c.req.valid('json');
        return c.json(await deployments.rolloutCommand(name, environment, action, { actor: actorOf(c), reason }), 200);
      },
    );
  }

  app.openapi(
    createRoute({
      method: 'post',
      path: '/api/v1/deployments/{name}/promotions',
      request: { params: z.object({ name: z.string() }), ...jsonBody(EnvironmentPromotion) },
      responses: {
        200: json('Promoted', DeploymentBody),
        202: json('Waiting for approval', PendingApproval),
        ...errorResponses,
        ...tooLarge,
      },
    }),
    async (c) => {
      const { name } = c.req.valid('param');
      const { from, to, reason } = c.req.valid('json');
      const actor = actorOf(c);
      const plan = await promotions.plan(name, from, to);
      const summary = `promote ${name} revision ${plan.fromRevision} (${plan.spec.model?.name} ${plan.spec.model?.version}, ${plan.digest}) from ${from} to ${to}`;
      const outcome = await gate.submit(
        { environment: to, deploymentName: name, action: 'promote', request: { plan }, summary, actor, reason },
        () => promotions.apply(plan, { actor, reason }),
      );
      return 'approval' in outcome ? c.json({ approval: outcome.approval }, 202) : c.json(outcome.applied, 200);
    },
  );

  const approvalId = z.object({ id: z.string() });
  const states = ['pending', 'approved', 'rejected', 'failed'] as const;
  const stateFilter = z.enum(states, { message: `must be one of ${states.join(', ')}` }).optional();
  app.openapi(
    createRoute({
      method: 'get',
      path: '/api/v1/approvals',
      // `status` is accepted as another name of `state`: it is what people (and the probe) try first.
      request: {
        query: Pagination.extend({
          environment: z.string().optional(),
          state: stateFilter,
          status: stateFilter.openapi({ description: 'Same as state' }),
        }),
      },
      responses: ok('Approvals', ApprovalPage),
    }),
    async (c) => {
      const { environment, state, status, limit, continue: token } = c.req.valid('query');
      if (state !== undefined && status !== undefined && state !== status)
        throw new InvalidArgumentError(
          `status: names the same filter as state; give one (got state=${state}, status=${status})`,
        );
      return c.json(await gate.list({ environment, state: state ?? status }, { limit, continue: token }), 200);
    },
  );
  app.openapi(
    createRoute({
      method: 'get',
      path: '/api/v1/approvals/{id}',
      request: { params: approvalId },
      responses: ok('An approval', ApprovalBody),
    }),
    async (c) => c.json(await gate.get(c.req.valid('param').id), 200),
  );
  app.openapi(
    createRoute({
      method: 'post',
      path: '/api/v1/approvals/{id}/approve',
      request: { params: approvalId, ...jsonBody(ApprovalDecision) },
      responses: okWithBody('Approved and applied', ApprovalBody),
    }),
    async (c) => {
      return c.json(await gate.approve(c.req.valid('param').id, actorOf(c), c.req.valid('json').comment), 200);
    },
  );
  app.openapi(
    createRoute({
      method: 'post',
      path: '/api/v1/approvals/{id}/reject',
      request: { params: approvalId, ...jsonBody(ApprovalDecision) },
      responses: okWithBody('Rejected', ApprovalBody),
    }),
    async (c) => {
      return c.json(await gate.reject(c.req.valid('param').id, actorOf(c), c.req.valid('json').comment), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/api/v1/incidents',
      request: { query: Pagination.extend({ environment: z.string().optional(), deployment: z.string().optional() }) },
      responses: ok('Incidents, oldest first', IncidentPage),
    }),
    async (c) => {
      const { environment, deployment, limit, continue: token } = c.req.valid('query');
      // `deployment` alone is that name in every environment.
      return c.json(await environments.incidents({ environment, deployment }, { limit, continue: token }), 200);
    },
  );

  const envName = z.object({ name: z.string() });
  app.openapi(
    createRoute({
      method: 'get',
      path: '/api/v1/environments',
      request: { query: Pagination },
      responses: ok('Environments', EnvironmentPage),
    }),
    async (c) => c.json(await environments.list(c.req.valid('query')), 200),
  );
  app.openapi(
    createRoute({
      method: 'get',
      path: '/api/v1/environments/{name}',
      request: { params: envName },
      responses: ok('An environment', EnvironmentBody),
    }),
    async (c) => c.json(await environments.get(c.req.valid('param').name), 200),
  );
  app.openapi(
    createRoute({
      method: 'patch',
      path: '/api/v1/environments/{name}',
      request: { params: envName, ...jsonBody(EnvironmentUpdate) },
      responses: {
        ...okWithBody('Updated', EnvironmentBody),
        202: json('Turning the approval gate off waits for another person to approve it', PendingApproval),
      },
    }),
    async (c) => {
      const { policies, region, failoverFor } = c.req.valid('json');
      const name = c.req.valid('param').name;
      // Disaster recovery is not a policy (it loosens nothing): set at once, checked by core/failover.ts.
      if (failoverFor !== undefined) {
        const updated = await environments.setFailoverFor(name, failoverFor);
        if (policies === undefined && region === undefined) return c.json(updated, 200);
      }
      const outcome = await environments.changePolicies(c.req.valid('param').name, { policies, region }, gate, {
        actor: actorOf(c),
      });
      return 'approval' in outcome ? c.json({ approval: outcome.approval }, 202) : c.json(outcome.applied, 200);
    },
  );
  app.openapi(
    createRoute({
      method: 'post',
      path: '/api/v1/environments/{environment}/policy-test',
      summary: "A dry run of the environment's admission policies on a deployment document; changes nothing",
      request: { params: z.object({ environment: z.string() }), ...jsonBody(PolicyTestRequest) },
      responses: okWithBody('Every violation (none: allowed)', PolicyTestResult),
    }),
    async (c) => c.json(await deployments.testPolicies(c.req.valid('param').environment, c.req.valid('json')), 200),
  );
}
