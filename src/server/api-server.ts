/**
 * The control plane's API server: the Hono app with every route group registered over the
 * services it needs, its /metrics and readiness, the connection limits, and listening on a port.
 * control-plane.ts builds the parts this takes and starts it.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAdaptorServer } from '@hono/node-server';
import { Counter, Registry, collectDefaultMetrics } from 'prom-client';
import { applyConnectionLimits, type ConnectionLimits, serverOptions } from '../core/http-server-limits.js';
import { createApp } from '../api/app.js';
import { registerDeploymentRoutes } from '../api/deployments-routes.js';
import { registerHomePage } from '../api/home-page.js';
import { registerModelRoutes } from '../api/models-routes.js';
import { registerRolloutRoutes } from '../api/rollouts-routes.js';
import { registerAnalysisTemplateRoutes } from '../api/analysis-templates-routes.js';
import { registerFeedbackRoutes } from '../api/feedback-routes.js';
import { registerAutoscalingRoutes } from '../api/autoscaling-routes.js';
import { AnalysisTemplates } from '../services/analysis-templates.js';
import { approvalExecutors } from '../services/approval-executors.js';
import { AutoscalingStatus } from '../services/autoscaling-status.js';
import { ChangeGate } from '../services/change-gate.js';
import { Promotions } from '../services/environment-promotion.js';
import { Environments } from '../services/environments.js';
import { FeedbackService } from '../services/feedback.js';
import { WorkloadLogs } from '../services/workload-logs.js';
import type { Runtime } from '../runtime/runtime.js';
import type { GatewayAdminClient } from '../gateway/admin-client.js';
import type { RoutePublisher } from '../controller/reconcilers/route-publisher.js';
import type { ModelRegistry } from '../registry/model-registry.js';
import type { DeploymentService } from '../services/deployment-service.js';
import type { Store } from '../store/store.js';
import type { Authenticator } from '../services/identity/authenticator.js';

/** The API over these parts, not yet listening; refused connections count on its /metrics. */
export function createApiServer(
  store: Store,
  registry: ModelRegistry,
  deployments: DeploymentService,
  runtime: Runtime,
  routes: RoutePublisher,
  gateway: GatewayAdminClient,
  activate: (environment: string, name: string) => Promise<boolean>,
  limits: ConnectionLimits,
  maxJsonBodyBytes: number | undefined,
  authenticator: Authenticator,
): Server {
  const metrics = new Registry();
  collectDefaultMetrics({ register: metrics });
  const app = createApp({
    readiness: async () => {
      try {
        await store.latestSequence();
        return { ready: true };
      } catch (e) {
        return { ready: false, reason: `store: ${(e as Error).message}` };
      }
    },
    metrics: async () => ({ contentType: metrics.contentType, body: await metrics.metrics() }),
    limits: { maxJsonBodyBytes, maxStreamedBodyBytes: registry.maxArtifactBytes },
    authenticator,
  });
  registerModelRoutes(app, registry);
  const environments = new Environments(store);
  const promotions = new Promotions(store, deployments);
  const gate = new ChangeGate(store, approvalExecutors(deployments, promotions));
  registerDeploymentRoutes(app, {
    deployments,
    logs: new WorkloadLogs(runtime),
    routes,
    environments: () => environments.all(),
    gate,
  });
  registerRolloutRoutes(app, { deployments, promotions, environments, gate });
  const feedback = new FeedbackService(store, deployments, (id) => gateway.assignment(id));
  registerFeedbackRoutes(app, { feedback });
  registerAnalysisTemplateRoutes(app, new AnalysisTemplates(store));
  registerAutoscalingRoutes(app, { autoscaling: new AutoscalingStatus(store, deployments, activate) });
  registerHomePage(app, async () =>
    (await Promise.all((await environments.all()).map((e) => deployments.list(e.name, { limit: 500 })))).flatMap(
      (p) => p.items,
    ),
  );
  const server = createAdaptorServer({ fetch: app.fetch, serverOptions: serverOptions(limits) }) as Server;
  const refused = new Counter({
    name: 'wharf_api_connections_refused_total',
    help: 'Client connections answered 503 and closed because the API had its maximum open.',
    registers: [metrics],
  });
  applyConnectionLimits(server, limits, () => refused.inc());
  return server;
}

/** Listens on `host:port`; a port in use is an error that says so. */
export async function listen(server: Server, host: string, port: number): Promise<Server> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(err.code === 'EADDRINUSE' ? new Error(`port ${port} on ${host} is already in use`) : err),
    );
    server.listen(port, host, () => resolve());
  });
  return server;
}

/** The URL of a server listening on `url`'s port, reached over loopback when it listens on every address. */
export function loopbackUrl(url: string): string {
  const u = new URL(url);
  if (u.hostname === '0.0.0.0') u.hostname = '127.0.0.1';
  else if (u.hostname === '[::]') u.hostname = '[::1]';
  return u.origin;
}

/** The http URL a listening server answers on. */
export function urlOf(server: Server): string {
  const a = server.address() as AddressInfo;
  return `http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`;
}
