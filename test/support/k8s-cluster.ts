/**
 * A simulated cluster for the Kubernetes runtime tests: the test API server with its kubelet
 * (pods as local processes), a real Wharf registry API on port 0 that pods download artifacts
 * from, the demo model pushed into it, and a factory for runtimes pointed at all of that.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createReadStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { createAdaptorServer } from '@hono/node-server';
import { Authenticator } from '../../src/services/identity/authenticator.js';
import { createApp } from '../../src/api/app.js';
import { registerModelRoutes } from '../../src/api/models-routes.js';
import { KubeClient, type KubeClientOptions } from '../../src/runtime/kubernetes/kube-client.js';
import { KubernetesRuntime, type KubernetesRuntimeOptions } from '../../src/runtime/kubernetes/kubernetes-runtime.js';
import type { Workload, WorkloadKey } from '../../src/runtime/runtime.js';
import { FakeKubeApi } from './fake-kube-api.js';
import { WHARF_BIN } from './processes.js';
import { openRegistryHome, type RegistryHome } from './registry.js';
import { FAST_PROBE } from './runtime.js';
import { freePort } from './ports.js';

/** Everything a Kubernetes runtime test needs. */
export interface SimulatedCluster {
  readonly api: FakeKubeApi;
  readonly registryUrl: string;
  readonly home: RegistryHome;
  /** Digest of the pushed demo model. */
  readonly digest: string;
  /** The model server port inside every pod (each pod has its own loopback IP). */
  readonly port: number;
  runtime(options?: Partial<KubernetesRuntimeOptions>, client?: KubeClientOptions): KubernetesRuntime;
  modelWorkload(key: WorkloadKey, replicas: number, digest?: string): Workload;
  /** Stores a file's bytes in the registry's blob store (as a pushed bundle's are); resolves with its digest. */
  putBlob(file: string): Promise<string>;
  stop(): Promise<void>;
}

/** Starts the registry and the API server; `envTag` marks pod processes (WHARF_WORKLOAD=<envTag>/…). */
export async function startSimulatedCluster(envTag: string): Promise<SimulatedCluster> {
  const home = await openRegistryHome();
  const version = await home.registry.pushVersion(
    { model: 'readmission', version: '1.0.0' },
    createReadStream(home.models.readmission),
  );
  const app = createApp({
    readiness: () => Promise.resolve({ ready: true }),
    metrics: () => Promise.resolve({ contentType: 'text/plain', body: '' }),
    // The simulated pods' init containers fetch artifacts without a credential (see the pull-token work of issue 14).
    authenticator: Authenticator.none(),
  });
  registerModelRoutes(app, home.registry);
  const server = createAdaptorServer({ fetch: app.fetch }) as Server;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const registryUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const workDir = join(home.home, 'pods');
  await mkdir(workDir, { recursive: true });
  const api = await FakeKubeApi.start({ kubelet: { wharfBin: WHARF_BIN, workDir, envTag, probeIntervalMs: 50 } });
  const port = await freePort();
  const runtimes: KubernetesRuntime[] = [];
  return {
    api,
    registryUrl,
    home,
    digest: version.artifact.digest,
    port,
    runtime(options = {}, client = {}) {
      const r = new KubernetesRuntime({
        client: new KubeClient(api.kubeConfig(), { initialBackoffMs: 20, maxBackoffMs: 200, ...client }),
        manifests: { registryUrl, port, preStopSeconds: 0, drainSeconds: 3 },
        removeTimeoutMs: 30_000,
        rewatchDelayMs: 20,
        ...options,
      });
      runtimes.push(r);
      return r;
    },
    modelWorkload(key, replicas, digest = version.artifact.digest) {
      return {
        key,
        replicas,
        model: { name: 'readmission', version: '1.0.0', artifactPath: 'unused-on-kubernetes', digest },
        resources: { cpu: '250m', memory: '256Mi' },
        readiness: { ...FAST_PROBE, intervalMs: 1_000 },
        liveness: { ...FAST_PROBE, intervalMs: 1_000 },
      };
    },
    async putBlob(file) {
      return (await home.blobs.put(createReadStream(file), { maxBytes: 64 * 1024 * 1024 })).digest;
    },
    async stop() {
      await Promise.all(runtimes.map((r) => r.close()));
      await api.stop();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await home.cleanup();
    },
  };
}

/** A port free on every address (pods listen on 127.77.x.y with the same container port). */
