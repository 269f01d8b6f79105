/**
 * Records when a deployment's traffic moves to its disaster-recovery stand-in and back, as events
 * of the primary deployment (`FailedOver`, `FailedBack`). It follows the route tables the publisher
 * compiles: a primary route whose targets have no backend left, while it names a stand-in, is what
 * every gateway fails over on (gateways may switch a moment earlier, on their own ejections; that
 * is their decision to make without the control plane, and the table catches up). Transitions only:
 * the first table seen sets the baseline, except that a deployment already failed over is recorded.
 */
import { deploymentId } from '../../core/deployment-identity.js';
import type { RouteTable } from '../../protocol/route-table.js';
import { newEvent } from '../../services/deployment-events.js';
import type { Store } from '../../store/store.js';
import { isFailedOver } from './route-failover.js';

/** See the module comment. Feed it with `routes.subscribe((t) => events.observe(t))`. */
export class FailoverEvents {
  readonly #state = new Map<string, boolean>();
  // Events are written one at a time, in table order.
  #queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly store: Store,
    private readonly onError: (error: unknown) => void = () => undefined,
  ) {}

  /** Compares `table` with the last one and queues an event per switch. */
  observe(table: RouteTable): void {
    const seen = new Set<string>();
    for (const route of table.routes) {
      if (route.failover === undefined) continue;
      const key = `${route.environment}/${route.deployment}`;
      seen.add(key);
      const now = isFailedOver(route);
      const before = this.#state.get(key) ?? false;
      this.#state.set(key, now);
      if (now === before) continue;
      const standIn = route.failover.environment;
      const event = now
        ? {
            type: 'Warning' as const,
            reason: 'FailedOver',
            message: `no ready replica in ${route.environment}: gateways send its requests to ${standIn}/${route.deployment}`,
          }
        : {
            type: 'Normal' as const,
            reason: 'FailedBack',
            message: `ready again in ${route.environment}: requests no longer go to ${standIn}/${route.deployment}`,
          };
      const id = deploymentId(route.environment, route.deployment);
      this.#queue = this.#queue
        .then(() => this.store.events.create(newEvent(id, new Date().toISOString(), event)))
        .catch((e: unknown) => this.onError(e));
    }
    for (const key of this.#state.keys()) if (!seen.has(key)) this.#state.delete(key);
  }

  /** Resolves once the queued events are written (or failed). */
  settled(): Promise<unknown> {
    return this.#queue;
  }
}
