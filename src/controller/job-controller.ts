/**
 * Wires the job reconciler into a {@link Controller}: keys are job store keys, woken by Job
 * changes, listed from the store at start and at each resync. A running job polls its worker's
 * progress through `requeueAfterMs`; a template sleeps until its next slot the same way (and
 * looks at its runs now and then while some are active: a change row does not say whose run it is).
 *
 * @example
 *   const { controller } = createJobController({ store, batch, workRoot, artifactPath });
 *   await controller.start();
 */
import { Controller, type ControllerOptions } from './controller.js';
import { JobReconciler, type JobReconcilerOptions } from './reconcilers/job-reconciler.js';
import { listAll } from '../services/store-pages.js';
import { resourceKey } from '../core/resources/kinds.js';

/** Reconciler settings plus the controller's own. */
export type JobControllerOptions = JobReconcilerOptions &
  Pick<ControllerOptions, 'workers' | 'resyncIntervalMs' | 'watchRetryMs' | 'queue' | 'onError'>;

/** The controller (call `start()`) and its reconciler. */
export function createJobController(options: JobControllerOptions): { controller: Controller; jobs: JobReconciler } {
  const { store } = options;
  const jobs = new JobReconciler(options);
  const controller = new Controller({
    name: 'job',
    reconciler: jobs,
    store,
    kinds: ['Job'],
    keysOfChange: (change) => [change.key],
    listKeys: async () => (await listAll(store.jobs)).map((j) => resourceKey('Job', j)),
    workers: options.workers ?? 4,
    resyncIntervalMs: options.resyncIntervalMs,
    watchRetryMs: options.watchRetryMs,
    queue: options.queue,
    clock: options.clock,
    onError: options.onError,
  });
  return { controller, jobs };
}
