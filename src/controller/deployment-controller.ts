/**
 * Wires the deployment reconciler into a {@link Controller}: keys are deployment ids, woken by
 * Deployment changes, and listed from both the store and the runtime (so a workload whose record
 * is gone is found and removed after a restart).
 *
 * @example
 *   const controller = createDeploymentController({ store, runtime, artifactPath: (d) => registry.blobPath(d) });
 *   await controller.start();
 */
import { deploymentId } from '../core/deployment-identity.js';
import { Controller, type ControllerOptions } from './controller.js';
import { DeploymentReconciler, type DeploymentReconcilerOptions } from './reconcilers/deployment-reconciler.js';
import { listAll } from '../services/store-pages.js';

/** Reconciler settings plus the controller's own. */
export type DeploymentControllerOptions = DeploymentReconcilerOptions &
  Pick<ControllerOptions, 'workers' | 'resyncIntervalMs' | 'watchRetryMs' | 'queue' | 'onError'>;

/** A started-on-demand controller for deployments (call `start()`). */
export function createDeploymentController(options: DeploymentControllerOptions): Controller {
  const { store, runtime } = options;
  const reconciler = new DeploymentReconciler(options);
  return new Controller({
    name: 'deployment',
    reconciler,
    store,
    // An autoscaler record is keyed by its deployment's id: its decision resizes that deployment.
    kinds: ['Deployment', 'Autoscaler'],
    keysOfChange: (change) => [change.key],
    listKeys: async () => {
      const ids = new Set((await listAll(store.deployments)).map((d) => d.id));
      // Every workload, not only those of stored deployments: a stray's key must be reconciled too.
      for (const w of await runtime.list()) ids.add(deploymentId(w.key.environment, w.key.deployment));
      return ids;
    },
    onTerminalError: (key, error) => reconciler.recordTerminalError(key, error),
    onRetriedError: (key, error, failures) => reconciler.recordRetriedError(key, error, failures),
    workers: options.workers,
    resyncIntervalMs: options.resyncIntervalMs,
    watchRetryMs: options.watchRetryMs,
    queue: options.queue,
    onError: options.onError,
  });
}
