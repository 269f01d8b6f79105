/**
 * Depth of a NATS JetStream durable consumer: messages not yet delivered to it (`num_pending`) plus
 * those delivered and not yet acknowledged (`num_ack_pending`), from the consumer info API. A
 * stream or consumer that does not exist is an error.
 *
 * Credentials in the URL (`nats://user:pass@host:4222`, or `nats://token@host`) become the client's
 * `user`/`pass` or `token` options; `tls://` asks for TLS.
 */
import { connect, type JetStreamManager, type NatsConnection } from 'nats';
import type { QueueScaling } from '../../core/resources.js';
import { ConnectionCache, type QueueDepthReader } from './queue-depth.js';

interface NatsClient {
  connection: NatsConnection;
  manager: JetStreamManager;
}

/** See the module comment; `timeoutMs` bounds the opening of a connection and each API request. */
export class NatsQueueDepth implements QueueDepthReader {
  readonly #connections: ConnectionCache<NatsClient>;

  constructor({ timeoutMs = 2_000 }: { timeoutMs?: number } = {}) {
    this.#connections = new ConnectionCache(
      async (url) => {
        // No reconnection: a lost server fails the next read (a problem on the status) and the
        // read after that opens a fresh connection.
        const connection = await connect({ ...connectOptions(url), timeout: timeoutMs, reconnect: false });
        void connection.closed().then(() => this.forget(url));
        try {
          return { connection, manager: await connection.jetstreamManager({ timeout: timeoutMs }) };
        } catch (error) {
          await connection.close();
          throw error;
        }
      },
      async ({ connection }) => {
        await connection.close();
      },
    );
  }

  async depth(queue: QueueScaling): Promise<number> {
    const { manager } = await this.#connections.get(queue.url);
    const info = await manager.consumers.info(queue.name, queue.consumer ?? '');
    return info.num_pending + info.num_ack_pending;
  }

  forget(url: string): Promise<void> {
    return this.#connections.forget(url);
  }

  close(): Promise<void> {
    return this.#connections.close();
  }
}

/** The server and credentials of a `nats://` or `tls://` URL, as nats.js options. */
function connectOptions(url: string): {
  servers: string;
  user?: string;
  pass?: string;
  token?: string;
  tls?: Record<string, never>;
} {
  const u = new URL(url);
  const user = decodeURIComponent(u.username);
  const pass = decodeURIComponent(u.password);
  return {
    servers: `${u.hostname}:${u.port === '' ? '4222' : u.port}`,
    ...(user !== '' && pass !== '' ? { user, pass } : user !== '' ? { token: user } : {}),
    ...(u.protocol === 'tls:' ? { tls: {} } : {}),
  };
}
