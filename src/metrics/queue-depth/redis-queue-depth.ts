/**
 * Depth of a Redis list (`LLEN name`): the queue of a Celery worker on Redis, of RQ, of any
 * LPUSH/BRPOP consumer. A list that does not exist is empty in Redis, so it reads 0.
 */
import { Redis } from 'ioredis';
import type { QueueScaling } from '../../core/resources.js';
import { ConnectionCache, type QueueDepthReader } from './queue-depth.js';

/** See the module comment; `connectTimeoutMs` bounds the opening of a connection. */
export class RedisQueueDepth implements QueueDepthReader {
  readonly #connections: ConnectionCache<Redis>;

  constructor({ connectTimeoutMs = 2_000 }: { connectTimeoutMs?: number } = {}) {
    this.#connections = new ConnectionCache(
      async (url) => {
        // No offline queue, no retries, no reconnection: a read while the server is down fails at
        // once (a problem on the status), and the next read opens a fresh connection.
        const redis = new Redis(url, {
          lazyConnect: true,
          enableOfflineQueue: false,
          maxRetriesPerRequest: 0,
          retryStrategy: () => null,
          connectTimeout: connectTimeoutMs,
        });
        // Failures surface on the command; unhandled, the event would crash the process. The
        // socket's own error (ECONNREFUSED …) says more than connect()'s "Connection is closed".
        let socketError: Error | undefined;
        redis.on('error', (error: Error) => (socketError = error));
        redis.on('end', () => void this.forget(url));
        try {
          await redis.connect();
        } catch (error) {
          redis.disconnect();
          throw socketError ?? error;
        }
        return redis;
      },
      async (redis) => {
        redis.disconnect();
      },
    );
  }

  async depth(queue: QueueScaling): Promise<number> {
    const redis = await this.#connections.get(queue.url);
    return redis.llen(queue.name);
  }

  forget(url: string): Promise<void> {
    return this.#connections.forget(url);
  }

  close(): Promise<void> {
    return this.#connections.close();
  }
}
