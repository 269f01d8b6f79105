/**
 * The one place that chooses implementations and wires them together: store (SQLite, or PostgreSQL
 * when a URL is given), registry (blobs under the home folder), local runtime, deployment
 * controller, route publisher, gateway and API. `wharf up` calls {@link startControlPlane}.
 */
import { mkdir } from 'node:fs/promises';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createAdaptorServer } from '@hono/node-server';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { createApp } from '../api/app.js';
import { registerDeploymentRoutes } from '../api/deployments-routes.js';
import { registerHomePage } from '../api/home-page.js';
import { registerModelRoutes } from '../api/models-routes.js';
import type { Controller } from '../controller/controller.js';
import { createDeploymentController } from '../controller/deployment-controller.js';
import { DeploymentService } from '../controller/deployment-service.js';
import { RoutePublisher } from '../controller/route-publisher.js';
import { routeBasePath } from '../gateway/route-table.js';
import { GatewayServer } from '../gateway/gateway-server.js';
import { FsBlobStore } from '../registry/fs-blob-store.js';
import { ModelRegistry } from '../registry/model-registry.js';
import type { Runtime } from '../runtime/runtime.js';
import { openStore } from '../store/open-store.js';
import type { Store } from '../store/store.js';
import { ensureEnvironments } from './environments.js';
import { type Leadership, leaderElection } from './leader-election.js';
import { type RuntimeSettings, selectRuntime } from './runtime-selection.js';

/** Settings of `wharf up`. */
export interface ControlPlaneOptions {
  home: string;
  host: string;
  port: number;
  gatewayPort: number;
  /** postgres://… to use PostgreSQL; SQLite under `home` otherwise. */
  databaseUrl?: string;
  /** Engines: local always; kubernetes when configured (see `runtime-selection.ts`). */
  runtime?: RuntimeSettings;
  log: (line: string) => void;
}

/** A running control plane. */
export interface ControlPlane {
  readonly apiUrl: string;
  readonly gatewayUrl: string;
  readonly store: Store;
  readonly registry: ModelRegistry;
  readonly deployments: DeploymentService;
  /** Whether this replica runs the controllers (always, on SQLite; one replica at a time on PostgreSQL). */
  readonly leadership: Leadership;
  /** Stops everything, replicas included, in reverse order of start. */
  stop(): Promise<void>;
}

/** Starts every part; on a failure part-way, stops what already started and rethrows. */
export async function startControlPlane(options: ControlPlaneOptions): Promise<ControlPlane> {
  const stops: (() => Promise<unknown>)[] = [];
  const stopAll = async (): Promise<void> => {
    for (const stop of stops.reverse()) await stop().catch((e: unknown) => options.log(`stop: ${(e as Error).message}`));
  };
  try {
    await mkdir(options.home, { recursive: true });
    const store = await openStore({ url: options.databaseUrl, home: options.home });
    stops.push(() => store.close());
    await ensureEnvironments(store);

    const blobs = new FsBlobStore(join(options.home, 'blobs'));
    const registry = new ModelRegistry(store, blobs);
    const { runtime, start: startRuntime, onRoutes } = selectRuntime(options.runtime ?? {}, options.home, store, options.log);
    await startRuntime();
    stops.push(() => runtime.close());

    const gateway = new GatewayServer({ host: options.host, port: options.gatewayPort });
    await gateway.start();
    stops.push(() => gateway.stop());

    const routes = new RoutePublisher({ store, runtime, onError: (e) => options.log(`routes: ${(e as Error).message}`) });
    routes.subscribe((table) => gateway.setTable(table));
    if (onRoutes) routes.subscribe((table) => onRoutes(table.routes));
    await routes.start();
    gateway.setTable(routes.current());
    stops.push(() => routes.stop());

    const deployments = new DeploymentService(store);
    const api = await listen(createApiServer(store, registry, deployments, runtime, routes), options.host, options.port);
    stops.push(() => new Promise<void>((resolve) => {
      api.close(() => resolve());
      api.closeAllConnections();
    }));
    const apiUrl = urlOf(api);

    // Controllers run on the elected leader only; every replica serves the API and the gateway.
    const leadership = leaderElection({ databaseUrl: options.databaseUrl, log: options.log }, (): Controller => createDeploymentController({
      store,
      runtime,
      artifactPath: (digest) => blobs.pathOf(digest),
      endpointsOf: (d) => ({
        external: `${gateway.url}${routeBasePath(d.environment, d.name)}`,
        logs: `${apiUrl}/api/v1/environments/${d.environment}/deployments/${d.name}/logs`,
        monitoring: `${gateway.url}/metrics`,
      }),
      onError: (key, e, retryInMs) => options.log(`controller: ${key ?? '-'}: ${(e as Error).message}${retryInMs === undefined ? '' : ` (retry in ${retryInMs} ms)`}`),
    }));
    await leadership.start();
    stops.push(() => leadership.stop());

    return { apiUrl, gatewayUrl: gateway.url, store, registry, deployments, leadership, stop: stopAll };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

function createApiServer(store: Store, registry: ModelRegistry, deployments: DeploymentService, runtime: Runtime, routes: RoutePublisher): Server {
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
  });
  registerModelRoutes(app, registry);
  const environments = async () => (await store.environments.list({ limit: 500 })).items;
  registerDeploymentRoutes(app, { deployments, runtime, routes, environments });
  registerHomePage(app, async () => (await Promise.all((await environments()).map((e) => deployments.list(e.name, { limit: 500 })))).flatMap((p) => p.items));
  return createAdaptorServer({ fetch: app.fetch }) as Server;
}

async function listen(server: Server, host: string, port: number): Promise<Server> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => reject(err.code === 'EADDRINUSE' ? new Error(`port ${port} on ${host} is already in use`) : err));
    server.listen(port, host, () => resolve());
  });
  return server;
}

function urlOf(server: Server): string {
  const a = server.address() as AddressInfo;
  return `http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`;
}
