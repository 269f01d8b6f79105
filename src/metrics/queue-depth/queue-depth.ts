/**
 * The QueueDepthReader interface: how many messages wait in a broker's queue, for the autoscaler's
 * `queue` metric. One implementation per broker (`redis-queue-depth.ts`, `rabbitmq-queue-depth.ts`,
 * `nats-queue-depth.ts`), each keeping one connection per broker URL between reads; `queue-depths.ts`
 * picks the reader by `queue.type` and bounds every read in time.
 */
import type { QueueScaling } from '../../core/resources.js';

/** Reads the depth of one kind of broker's queues. */
export interface QueueDepthReader {
  /**
   * Messages waiting in `queue` now. Rejects when the broker cannot be reached or the queue cannot
   * be read (the caller records that as a problem; it never means zero).
   */
  depth(queue: QueueScaling): Promise<number>;
  /** Drops the connection to `url` (after a failed or timed-out read), so the next read reconnects. */
  forget(url: string): Promise<void>;
  /** Closes every connection; later reads open new ones. */
  close(): Promise<void>;
}

/**
 * Connections of one reader, one per broker URL, opened on first use. A failed open is not kept,
 * so the next read tries again.
 */
export class ConnectionCache<C> {
  readonly #open: (url: string) => Promise<C>;
  readonly #close: (connection: C) => Promise<void>;
  readonly #connections = new Map<string, Promise<C>>();

  constructor(open: (url: string) => Promise<C>, close: (connection: C) => Promise<void>) {
    this.#open = open;
    this.#close = close;
  }

  /** The connection to `url`, opening it if there is none. */
  get(url: string): Promise<C> {
    let connection = this.#connections.get(url);
    if (connection === undefined) {
      connection = this.#open(url);
      this.#connections.set(url, connection);
      connection.catch(() => {
        if (this.#connections.get(url) === connection) this.#connections.delete(url);
      });
    }
    return connection;
  }

  /** Forgets and closes the connection to `url`, if any (errors while closing are of no use to anyone). */
  async forget(url: string): Promise<void> {
    const connection = this.#connections.get(url);
    if (connection === undefined) return;
    this.#connections.delete(url);
    await connection.then((c) => this.#close(c)).catch(() => undefined);
  }

  /** Forgets and closes every connection. */
  async close(): Promise<void> {
    await Promise.all([...this.#connections.keys()].map((url) => this.forget(url)));
  }
}
