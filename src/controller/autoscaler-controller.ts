/**
 * Wires the autoscaler reconciler into a {@link Controller}: keys are deployment ids, woken by
 * Deployment changes (a new deployment is evaluated at once), listed from the store and from the
 * autoscaler's own memory (so a deletion whose change was missed still frees it). An autoscaled
 * deployment asks to be evaluated again every `intervalMs` through its `requeueAfterMs`; there is
 * no timer of its own. A failed evaluation is retried after the same interval (the queue's backoff
 * is pinned to it), as the autoscaler's tick did.
 *
 * @example
 *   const { controller, autoscaler } = createAutoscalerController({ store, metrics, runtime });
 *   await controller.start();
 *   await autoscaler.activate('production', 'risk'); // held requests: decide now
 *   await controller.stop();
 *   await autoscaler.idle();
 */
import { Controller, type ControllerOptions } from './controller.js';
import { AutoscalerReconciler, type AutoscalerOptions } from './reconcilers/autoscaler-reconciler.js';
import { listAll } from '../services/store-pages.js';

/** Reconciler settings plus the controller's own. */
export type AutoscalerControllerOptions = AutoscalerOptions &
  Pick<ControllerOptions, 'workers' | 'resyncIntervalMs' | 'watchRetryMs' | 'queue' | 'clock'>;

/** The controller (call `start()`) and its reconciler (for {@link AutoscalerReconciler.activate}). */
export function createAutoscalerController(options: AutoscalerControllerOptions): {
  controller: Controller;
  autoscaler: AutoscalerReconciler;
} {
  const { store } = options;
  const autoscaler = new AutoscalerReconciler(options);
  const controller = new Controller({
    name: 'autoscaler',
    reconciler: autoscaler,
    store,
    kinds: ['Deployment'],
    keysOfChange: (change) => [change.key],
    listKeys: async () => new Set([...(await listAll(store.deployments)).map((d) => d.id), ...autoscaler.keys()]),
    queue: options.queue ?? { baseDelayMs: autoscaler.intervalMs, maxDelayMs: autoscaler.intervalMs },
    workers: options.workers,
    resyncIntervalMs: options.resyncIntervalMs,
    watchRetryMs: options.watchRetryMs,
    clock: options.clock,
    // An evaluation's failure, or the loop's own (a resync, the watch), reported as the tick's were.
    onError: options.onError,
  });
  return { controller, autoscaler };
}
