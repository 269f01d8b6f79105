/**
 * Depth of a RabbitMQ queue: its messages ready for delivery (`queue.declare` passive, amqplib's
 * `checkQueue`); messages delivered and not yet acknowledged are being worked on and do not count.
 * A queue that does not exist is an error (a misspelt name must not read as an idle queue).
 */
import amqp from 'amqplib';
import type { ChannelModel } from 'amqplib';
import type { QueueScaling } from '../../core/resources.js';
import { ConnectionCache, type QueueDepthReader } from './queue-depth.js';

/** See the module comment; `connectTimeoutMs` bounds the opening of a connection. */
export class RabbitMqQueueDepth implements QueueDepthReader {
  readonly #connections: ConnectionCache<ChannelModel>;

  constructor({ connectTimeoutMs = 2_000 }: { connectTimeoutMs?: number } = {}) {
    this.#connections = new ConnectionCache(
      async (url) => {
        const connection = await amqp.connect(url, { timeout: connectTimeoutMs });
        connection.on('error', () => undefined); // a broken connection also emits 'close', handled below
        connection.on('close', () => void this.forget(url));
        return connection;
      },
      async (connection) => {
        await connection.close();
      },
    );
  }

  async depth(queue: QueueScaling): Promise<number> {
    const connection = await this.#connections.get(queue.url);
    // A channel per read: a passive declare of a missing queue closes its channel (404).
    const channel = await connection.createChannel();
    channel.on('error', () => undefined); // the 404 rejects checkQueue as well
    try {
      return (await channel.checkQueue(queue.name)).messageCount;
    } finally {
      await channel.close().catch(() => undefined); // already closed after a 404
    }
  }

  forget(url: string): Promise<void> {
    return this.#connections.forget(url);
  }

  close(): Promise<void> {
    return this.#connections.close();
  }
}
