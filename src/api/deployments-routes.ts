/**
 * Deployment endpoints: create, list, get, update, scale, roll back, delete; revisions, diff, events,
 * replica logs; and the route-table watch stream that gateways follow. Rules beyond the schemas
 * (environment exists, model version exists, …) are the DeploymentService's; both answer 4xx naming
 * the field, and a rejected request changes nothing.
 */
import { stream } from 'hono/streaming';
import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { InvalidArgumentError, NotFoundError } from '../core/errors.js';
import type { ChangeGate } from '../controller/change-gate.js';
import type { DeploymentService } from '../controller/deployment-service.js';
import type { RoutePublisher } from '../controller/route-publisher.js';
import type { Runtime } from '../runtime/runtime.js';
import { DeploymentCreate, DeploymentUpdate, Pagination, Rollback, Scale } from './schemas.js';
import { actorOf, anyJson, errorResponses as routeErrors, jsonBody } from './route-kit.js';

const errorResponses = routeErrors(400, 404, 409);
const target = z.object({ environment: z.string(), name: z.string() });
const base = '/api/v1/environments/{environment}/deployments/{name}';
/** How often an idle route watch stream sends a heartbeat line. */
const HEARTBEAT_MS = 15_000;

/** What the deployment routes need. */
export interface DeploymentRouteDeps {
  deployments: DeploymentService;
  /** The environments that exist, for listing across all of them. */
  environments: () => Promise<{ name: string }[]>;
  runtime: Runtime;
  routes: RoutePublisher;
  /** Holds changes to environments that require approval (see change-gate.ts). */
  gate: ChangeGate;
}

/** 202 with the pending approval, or the change's own status and result. */
const answer = <T>(c: Context, outcome: { applied: T } | { approval: unknown }, status: 200 | 201 | 202) =>
  'approval' in outcome ? c.json({ approval: outcome.approval }, 202) : c.json(outcome.applied as object, status);

/** Adds the deployment routes to `app`. */
export function registerDeploymentRoutes(
  app: OpenAPIHono,
  { deployments, environments, runtime, routes, gate }: DeploymentRouteDeps,
): void {
  const pending = {
    202: { description: 'The environment requires approval: the change waits as a pending approval', ...anyJson },
  };
  app.openapi(
    createRoute({
      method: 'post',
      path: '/api/v1/deployments',
      request: jsonBody(DeploymentCreate),
      responses: { 201: { description: 'Created', ...anyJson }, ...pending, ...errorResponses },
    }),
    async (c) => {
      const { reason, ...input } = c.req.valid('json');
      const actor = actorOf(c);
      const summary = `create ${input.name} with ${input.model.name} ${input.model.version}`;
      const outcome = await gate.submit(
        {
          environment: input.environment,
          deploymentName: input.name,
          action: 'create',
          request: { input },
          summary,
          actor,
          reason,
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
        200: { description: 'Deployments: one page of one environment, or the first page of each', ...anyJson },
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
      responses: { 200: { description: 'A deployment', ...anyJson }, ...errorResponses },
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
      responses: { 200: { description: 'Updated', ...anyJson }, ...errorResponses },
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
      responses: { 200: { description: 'Scaled', ...anyJson }, ...errorResponses },
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
      responses: { 200: { description: 'Rolled back', ...anyJson }, ...errorResponses },
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
      responses: { 202: { description: 'Deletion started', ...anyJson }, ...errorResponses },
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
      responses: { 200: { description: 'Revisions', ...anyJson }, ...errorResponses },
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
      responses: { 200: { description: 'A revision', ...anyJson }, ...errorResponses },
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
      responses: { 200: { description: 'Field-level diff', ...anyJson }, ...errorResponses },
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
      responses: { 200: { description: 'Events', ...anyJson }, ...errorResponses },
    }),
    async (c) => {
      const { environment, name } = c.req.valid('param');
      const { limit, continue: token } = c.req.valid('query');
      return c.json(await deployments.events(name, environment, { limit, continue: token }), 200);
    },
  );

  // Replica logs as NDJSON (one LogLine per line); `follow=true` streams until the client goes away.
  app.get('/api/v1/environments/:environment/deployments/:name/logs', async (c) => {
    const { environment, name } = c.req.param();
    const d = await deployments.get(name, environment);
    const follow = c.req.query('follow') === 'true';
    const tailText = c.req.query('tail');
    const tail = tailText === undefined ? undefined : Number(tailText);
    if (tail !== undefined && (!Number.isInteger(tail) || tail < 0))
      throw new InvalidArgumentError('tail: must be a non-negative integer');
    const replica = c.req.query('replica');
    c.header('content-type', 'application/x-ndjson');
    // Every workload of the deployment: during a replacement both revisions log, and after a
    // scale the replicas run under an earlier revision's workload. With `replica`, only the
    // workload that has it; an unknown replica is a 404 before the stream starts.
    const workloads = await runtime.list({ environment, deployment: d.name });
    const keys = workloads
      .filter((w) => replica === undefined || w.replicas.some((r) => r.id === replica))
      .map((w) => w.key);
    if (replica !== undefined && keys.length === 0) {
      const known = workloads.flatMap((w) => w.replicas.map((r) => r.id));
      throw new NotFoundError(
        `replica: deployment ${d.name} in ${environment} has no replica ${JSON.stringify(replica.slice(0, 100))}${known.length > 0 ? ` (replicas: ${known.join(', ')})` : ' (no replica runs)'}`,
      );
    }
    return stream(c, async (out) => {
      const abort = new AbortController();
      out.onAbort(() => abort.abort());
      const sources = keys.map((key) => runtime.logs(key, { follow, tail, replica, signal: abort.signal }));
      for await (const line of follow ? merge(sources) : concat(sources)) {
        await out.write(`${JSON.stringify(line)}\n`);
      }
    });
  });

  // The route table, then every new one, as NDJSON: what `wharf gateway --control-plane URL` follows.
  app.get('/api/v1/routes/watch', (c) => {
    c.header('content-type', 'application/x-ndjson');
    return stream(c, async (out) => {
      let wake: () => void = () => {};
      let pending = routes.current();
      const unsubscribe = routes.subscribe((t) => {
        pending = t;
        wake();
      });
      out.onAbort(() => wake());
      try {
        let sent = -1;
        while (!out.aborted) {
          if (pending.version !== sent) {
            sent = pending.version;
            await out.write(`${JSON.stringify(pending)}\n`);
            continue; // a table may have arrived during the write: check before sleeping
          }
          let timer: NodeJS.Timeout | undefined;
          const woke = await new Promise<boolean>((resolve) => {
            wake = () => resolve(true);
            timer = setTimeout(() => resolve(false), HEARTBEAT_MS);
          });
          clearTimeout(timer);
          // An empty line tells the gateway the stream is alive (its idle timeout is 45 s).
          if (!woke && !out.aborted) await out.write('\n');
        }
      } finally {
        unsubscribe();
      }
    });
  });
  app.get('/api/v1/routes', (c) => c.json(routes.current()));
}

async function* concat<T>(sources: AsyncIterable<T>[]): AsyncIterable<T> {
  for (const source of sources) yield* source;
}

/** Interleaves several async iterables as their items arrive. */
async function* merge<T>(sources: AsyncIterable<T>[]): AsyncIterable<T> {
  const iterators = sources.map((s) => s[Symbol.asyncIterator]());
  const next = (i: number) => iterators[i]!.next().then((result) => ({ i, result }));
  const pending = new Map(iterators.map((_, i) => [i, next(i)]));
  while (pending.size > 0) {
    const { i, result } = await Promise.race(pending.values());
    if (result.done) {
      pending.delete(i);
      continue;
    }
    pending.set(i, next(i));
    yield result.value;
  }
}
