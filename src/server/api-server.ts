/**
 * The control plane's API server: the Hono app with every route group registered over the
 * services it needs, its /metrics and readiness, the connection limits, and listening on a port.
 * control-plane.ts builds the parts this takes and starts it.
 */
import type { Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { createAdaptorServer } from '@hono/node-server';
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import {
  applyConnectionLimits,
  type ConnectionLimits,
  LISTEN_BACKLOG,
  serverOptions,
} from '../core/http-server-limits.js';
import { createApp } from '../api/app.js';
import { registerDeploymentRoutes } from '../api/deployments-routes.js';
import { registerHomePage } from '../api/home-page.js';
import { registerModelRoutes } from '../api/models-routes.js';
import { registerBundleRoutes } from '../api/bundles-routes.js';
import type { BundleCatalog } from '../services/bundles.js';
import { registerRolloutRoutes } from '../api/rollouts-routes.js';
import { registerAnalysisTemplateRoutes } from '../api/analysis-templates-routes.js';
import { registerFeedbackRoutes } from '../api/feedback-routes.js';
import { registerAutoscalingRoutes } from '../api/autoscaling-routes.js';
import { registerAuditRoutes } from '../api/audit-routes.js';
import type { AuditTrail } from '../services/audit/audit-trail.js';
import { registerAccessRoutes } from '../api/access-routes.js';
import { AnalysisTemplates } from '../services/analysis-templates.js';
import { approvalExecutors } from '../services/approval-executors.js';
import { AccessAdmin } from '../services/access/access-admin.js';
import type { Authorizer } from '../services/access/authorizer.js';
import { currentRequest } from '../core/request-context.js';
import { tokenOwnerDirectory } from '../services/access/principal-directory.js';
import { Tokens } from '../services/identity/tokens.js';
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
import type { IdentityServices } from '../services/identity/identity-services.js';
import { registerIdentityRoutes } from '../api/identity-routes.js';
import { registerSecretRoutes } from '../api/secrets-routes.js';
import type { Secrets } from '../services/secrets/secrets-service.js';
import type { TlsMaterial } from './tls.js';
import { registerJobRoutes } from '../api/jobs-routes.js';
import type { JobsService } from '../services/jobs/jobs-service.js';

/** The metric of the serving certificate's end, for alerts ahead of it. */
export const TLS_EXPIRY_METRIC = 'wharf_tls_certificate_expiry_timestamp_seconds';

/** A route the API serves, as registered (`GET`, `/api/v1/environments/:environment/deployments/:name`). */
export interface ApiRoute {
  readonly method: string;
  readonly path: string;
}

/**
 * The API over these parts, not yet listening; refused connections count on its /metrics. The
 * server carries the list of its routes (`apiRoutes`): what the authorization matrix test walks.
 */
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
  identity: IdentityServices,
  authorizer: Authorizer,
  secrets: Secrets,
  bundles: BundleCatalog,
  audit?: AuditTrail,
  tls?: TlsMaterial,
  jobs?: JobsService,
): Server & { readonly apiRoutes: readonly ApiRoute[] } {
  const metrics = new Registry();
  collectDefaultMetrics({ register: metrics });
  if (tls !== undefined) {
    new Gauge({
      name: TLS_EXPIRY_METRIC,
      help: 'When the certificate the API and gateway serve ends (Unix seconds).',
      registers: [metrics],
    }).set(tls.expiresAt.getTime() / 1000);
  }
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
    ...(audit === undefined ? {} : { auditRecorder: audit.recorder }),
    authorizer,
  });
  if (audit !== undefined) registerAuditRoutes(app, audit);
  registerModelRoutes(app, registry);
  registerBundleRoutes(app, bundles);
  registerIdentityRoutes(app, identity);
  const environments = new Environments(store);
  const promotions = new Promotions(store, deployments);
  const gate = new ChangeGate(store, approvalExecutors(deployments, promotions, environments), authorizer);
  // Views across environments (the deployments list without environment=, the home page) show the
  // environments where the caller may read deployments, and no others.
  const readableEnvironments = async () => {
    const all = await environments.all();
    const principal = currentRequest()?.principal;
    if (principal === undefined) return all;
    const decisions = await Promise.all(
      all.map((e) => authorizer.decide(principal, 'deployments:read', { environment: e.name })),
    );
    return all.filter((_, i) => decisions[i]!.allowed);
  };
  registerDeploymentRoutes(app, {
    deployments,
    logs: new WorkloadLogs(runtime),
    routes,
    environments: readableEnvironments,
    gate,
  });
  registerRolloutRoutes(app, { deployments, promotions, environments, gate });
  const feedback = new FeedbackService(store, deployments, (id) => gateway.assignment(id));
  registerFeedbackRoutes(app, { feedback });
  registerAnalysisTemplateRoutes(app, new AnalysisTemplates(store));
  registerSecretRoutes(app, secrets);
  if (jobs !== undefined) registerJobRoutes(app, jobs);
  registerAutoscalingRoutes(app, { autoscaling: new AutoscalingStatus(store, deployments, activate) });
  const tokenOwners = tokenOwnerDirectory(new Tokens(store));
  registerAccessRoutes(app, {
    authorizer,
    admin: new AccessAdmin(store),
    // Users and service accounts by name or id; principals known only as token owners (a token
    // minted for `user:<name>` with no user record) after them.
    directory: {
      find: async (nameOrId) => (await identity.directory.find(nameOrId)) ?? tokenOwners.find(nameOrId),
    },
  });
  registerHomePage(app, async () =>
    (await Promise.all((await readableEnvironments()).map((e) => deployments.list(e.name, { limit: 500 })))).flatMap(
      (p) => p.items,
    ),
  );
  const server = (
    tls === undefined
      ? createAdaptorServer({ fetch: app.fetch, serverOptions: serverOptions(limits) })
      : createAdaptorServer({
          fetch: app.fetch,
          createServer: createHttpsServer,
          serverOptions: { ...serverOptions(limits), cert: tls.cert, key: tls.key },
        })
  ) as Server;
  const refused = new Counter({
    name: 'wharf_api_connections_refused_total',
    help: 'Client connections answered 503 and closed because the API had its maximum open.',
    registers: [metrics],
  });
  applyConnectionLimits(server, limits, () => refused.inc());
  // Middleware (`use`) shows as method ALL; each route once per method and path.
  const apiRoutes = [
    ...new Map(app.routes.filter((r) => r.method !== 'ALL').map((r) => [`${r.method} ${r.path}`, r])).values(),
  ].map((r) => ({ method: r.method, path: r.path }));
  return Object.assign(server, { apiRoutes });
}

/** Listens on `host:port`; a port in use is an error that says so. */
export async function listen(server: Server, host: string, port: number): Promise<Server> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(err.code === 'EADDRINUSE' ? new Error(`port ${port} on ${host} is already in use`) : err),
    );
    server.listen({ port, host, backlog: LISTEN_BACKLOG }, () => resolve());
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

/** The http (or, for a TLS server, https) URL a listening server answers on. */
export function urlOf(server: Server): string {
  const a = server.address() as AddressInfo;
  const scheme = 'setSecureContext' in server ? 'https' : 'http';
  return `${scheme}://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`;
}
