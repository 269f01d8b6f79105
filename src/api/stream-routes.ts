/**
 * The streaming endpoints: a deployment's replica logs and the route-table watch stream that
 * gateways follow (NDJSON both), plus the route table itself. They are served by plain handlers,
 * since a typed openapi handler cannot return a stream, and documented in the OpenAPI registry
 * beside them. deployments-routes.ts registers them after the deployment routes.
 */
import { stream } from 'hono/streaming';
import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { InvalidArgumentError } from '../core/errors.js';
import type { DeploymentService } from '../services/deployment-service.js';
import type { RouteFeed } from '../services/route-feed.js';
import type { WorkloadLogs } from '../services/workload-logs.js';
import { DEPLOYMENT_ERRORS, DEPLOYMENT_PATH, DeploymentTarget } from './deployment-params.js';
import { json } from './route-kit.js';
import { LogLineBody, RouteTableBody } from './stream-schemas.js';

// Shared with the deployment routes (deployment-params.ts).
const errorResponses = DEPLOYMENT_ERRORS;
const target = DeploymentTarget;
const base = DEPLOYMENT_PATH;
/** How often an idle route watch stream sends a heartbeat line. */
const HEARTBEAT_MS = 15_000;

/** What the stream routes need. */
export interface StreamRouteDeps {
  deployments: DeploymentService;
  /** Replica logs of a deployment's workloads. */
  logs: WorkloadLogs;
  /** The route table and its changes, for the watch stream. */
  routes: RouteFeed;
}

/** Adds the log stream, the route watch stream and the route table to `app`. */
export function registerStreamRoutes(app: OpenAPIHono, { deployments, logs, routes }: StreamRouteDeps): void {
  // Streams are served by plain handlers (a typed openapi handler cannot return a stream); they are
  // documented here. The query is read, and refused, by the handler itself.
  app.openAPIRegistry.registerPath(
    createRoute({
      method: 'get',
      path: `${base}/logs`,
      request: {
        params: target,
        query: z.object({
          follow: z.string().optional().openapi({ description: "'true' streams until the client goes away" }),
          tail: z.string().optional().openapi({ description: 'Only the last N lines of each replica' }),
          replica: z.string().optional().openapi({ description: 'Only this replica' }),
        }),
      },
      responses: {
        200: {
          description: 'Replica log lines, one JSON document per line (NDJSON)',
          content: { 'application/x-ndjson': { schema: LogLineBody } },
        },
        ...errorResponses,
      },
    }),
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
    // Every workload of the deployment (with `replica`, the one that has it); an unknown replica
    // is a 404 before the stream starts.
    const selected = await logs.select(d, replica);
    return stream(c, async (out) => {
      const abort = new AbortController();
      out.onAbort(() => abort.abort());
      for await (const line of selected({ follow, tail, signal: abort.signal })) {
        await out.write(`${JSON.stringify(line)}\n`);
      }
    });
  });

  // The route table lives in memory: no store behind these two routes, so no 503.
  app.openAPIRegistry.registerPath(
    createRoute({
      method: 'get',
      path: '/api/v1/routes/watch',
      responses: {
        200: {
          description:
            'The route table, then every new one, one JSON document per line (NDJSON); empty lines are heartbeats',
          content: { 'application/x-ndjson': { schema: RouteTableBody } },
        },
      },
    }),
  );
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
  app.openapi(
    createRoute({
      method: 'get',
      path: '/api/v1/routes',
      responses: { 200: json('The route table the gateways serve', RouteTableBody) },
    }),
    (c) => c.json(routes.current(), 200),
  );
}
