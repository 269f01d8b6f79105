/**
 * Turns the gateway's ejection events (a replica taken out of rotation after consecutive
 * 5xx, timeouts or connect failures, and its return) into deployment events, so `wharf deploy
 * events` tells the story next to the autoscaler's and the rollouts'. Polls the gateway's bounded
 * log for events after the last one seen; a burst beyond the log's size loses the oldest, which
 * the metrics (`wharf_gateway_ejections_total`) still count.
 */
import { deploymentId } from '../../core/deployment-identity.js';
import type { EjectionEvent } from '../../protocol/gateway-snapshot.js';
import type { Store } from '../../store/store.js';
import { newEvent } from '../../services/deployment-events.js';

/** Settings of {@link EjectionRecorder}. */
export interface EjectionRecorderOptions {
  store: Store;
  /** Events after `seq`, oldest first (GatewayServer.ejectionsSince, or a gateway's admin listener). */
  ejectionsSince(seq: number): readonly EjectionEvent[] | Promise<readonly EjectionEvent[]>;
  intervalMs?: number;
  onError?(error: unknown): void;
}

/** See the module comment. */
export class EjectionRecorder {
  readonly #o: EjectionRecorderOptions;
  #seq = 0;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;

  constructor(options: EjectionRecorderOptions) {
    this.#o = options;
  }

  /** Starts polling every `intervalMs` (default 1 s). */
  start(): void {
    this.#timer ??= setInterval(() => {
      this.#running ??= this.flush()
        .catch((e: unknown) => this.#o.onError?.(e))
        .finally(() => {
          this.#running = undefined;
        });
    }, this.#o.intervalMs ?? 1_000);
  }

  /** Stops polling after writing what is pending. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#running;
    await this.flush().catch((e: unknown) => this.#o.onError?.(e));
  }

  /** Writes the events not written yet, one transaction for all of them. */
  async flush(): Promise<void> {
    const events = await this.#o.ejectionsSince(this.#seq);
    if (events.length === 0) return;
    await this.#o.store.transaction(async (tx) => {
      for (const e of events) {
        const time = new Date(e.time).toISOString();
        const ejected = e.type === 'ejected';
        const message = ejected
          ? `replica ${e.backend} (revision ${e.revision}) taken out of rotation for ${Math.round((e.durationMs ?? 0) / 100) / 10} s: ${e.reason}`
          : `replica ${e.backend} (revision ${e.revision}) back in rotation: ${e.reason}`;
        await tx.events.create(
          newEvent(deploymentId(e.environment, e.deployment), time, {
            type: ejected ? 'Warning' : 'Normal',
            reason: ejected ? 'ReplicaEjected' : 'ReplicaReadmitted',
            message,
          }),
        );
      }
    });
    this.#seq = events[events.length - 1]!.seq;
  }
}
