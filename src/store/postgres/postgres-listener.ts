/**
 * One dedicated connection per store that LISTENs for commits by any replica and wakes this
 * process's watchers. It connects on the first watch, reconnects after losing the server, and wakes
 * watchers after each (re)connect because notifications sent while it was away are gone; the
 * watchers' poll covers the time it is down.
 */
import pg from 'pg';

/** The channel writers `pg_notify` on commit; the payload is the last sequence written. */
export const CHANGES_CHANNEL = 'wharf_changes';

/** Keeps a LISTEN connection up and calls `onNotify` for every notification. */
export class PostgresChangeListener {
  readonly #config: pg.ClientConfig;
  readonly #onNotify: () => void;
  readonly #retryMs: number;
  #client: pg.Client | undefined;
  #connecting: Promise<void> | undefined;
  #retry: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(config: pg.ClientConfig, onNotify: () => void, retryMs = 1000) {
    this.#config = config;
    this.#onNotify = onNotify;
    this.#retryMs = retryMs;
  }

  /** Connects once; resolves when listening, or when this attempt failed (a retry is scheduled). */
  ready(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#connecting ??= this.#connect();
    return this.#connecting;
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#retry);
    await this.#connecting;
    const client = this.#client;
    this.#client = undefined;
    await client?.end().catch(() => undefined);
  }

  async #connect(): Promise<void> {
    const client = new pg.Client(this.#config);
    let lost = false;
    const onLost = (): void => {
      if (lost) return;
      lost = true;
      if (this.#client === client) this.#client = undefined;
      client.end().catch(() => undefined);
      if (this.#closed) return;
      this.#retry = setTimeout(() => {
        this.#retry = undefined;
        this.#connecting = this.#connect();
      }, this.#retryMs);
      this.#retry.unref();
    };
    client.on('notification', () => this.#onNotify());
    client.on('error', onLost);
    client.on('end', onLost);
    try {
      await client.connect();
      await client.query(`LISTEN ${CHANGES_CHANNEL}`);
    } catch {
      onLost();
      return;
    }
    if (this.#closed) {
      await client.end().catch(() => undefined);
      return;
    }
    this.#client = client;
    this.#onNotify();
  }
}
