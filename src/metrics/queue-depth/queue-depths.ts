/**
 * The queue depths the autoscaler reads: one reader per broker type (created on first use), every
 * read bounded by `timeoutMs`, and every failure turned into a {@link QueueDepthError} whose message
 * names the broker and the queue with the URL's password redacted (it goes to status and logs).
 *
 * @example
 *   const queues = new QueueDepths();
 *   await queues.depth({ type: 'redis', url: 'redis://127.0.0.1:6379', name: 'celery', target: 10 }); // 3
 *   await queues.close(); // at shutdown: no connection left open
 */
import { redactUrl } from '../../core/autoscaling/queue-spec.js';
import type { QueueScaling } from '../../core/resources.js';
import { NatsQueueDepth } from './nats-queue-depth.js';
import type { QueueDepthReader } from './queue-depth.js';
import { RabbitMqQueueDepth } from './rabbitmq-queue-depth.js';
import { RedisQueueDepth } from './redis-queue-depth.js';

/** What the autoscaler needs of {@link QueueDepths} (tests may pass their own). */
export interface QueueDepthSource {
  depth(queue: QueueScaling): Promise<number>;
}

/** A queue that could not be read; the message is safe to show (no password). */
export class QueueDepthError extends Error {
  override readonly name = 'QueueDepthError';
  readonly code = 'QUEUE_UNREADABLE';
}

/** Defaults of {@link QueueDepths}. */
export const QUEUE_DEPTH_DEFAULTS = { timeoutMs: 2_000 } as const;

/** See the module comment. */
export class QueueDepths implements QueueDepthSource {
  readonly #timeoutMs: number;
  readonly #readers = new Map<QueueScaling['type'], QueueDepthReader>();
  #closed = false;

  constructor({ timeoutMs = QUEUE_DEPTH_DEFAULTS.timeoutMs }: { timeoutMs?: number } = {}) {
    this.#timeoutMs = timeoutMs;
  }

  /** Messages waiting in `queue`; rejects with a {@link QueueDepthError}. */
  async depth(queue: QueueScaling): Promise<number> {
    if (this.#closed) throw new QueueDepthError(`${describeQueue(queue)}: the queue readers are closed`);
    const reader = this.#reader(queue.type);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${this.#timeoutMs} ms`)), this.#timeoutMs);
    });
    try {
      return await Promise.race([reader.depth(queue), timeout]);
    } catch (error) {
      // A connection that failed or hung is not reused: the next read opens a fresh one.
      await reader.forget(queue.url);
      throw new QueueDepthError(`${describeQueue(queue)}: ${scrub((error as Error).message, queue.url)}`, {
        cause: error,
      });
    } finally {
      clearTimeout(timer);
    }
  }

  /** Closes every broker connection; reads after this reject. */
  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all([...this.#readers.values()].map((r) => r.close()));
    this.#readers.clear();
  }

  #reader(type: QueueScaling['type']): QueueDepthReader {
    let reader = this.#readers.get(type);
    if (reader === undefined) {
      reader =
        type === 'redis'
          ? new RedisQueueDepth({ connectTimeoutMs: this.#timeoutMs })
          : type === 'rabbitmq'
            ? new RabbitMqQueueDepth({ connectTimeoutMs: this.#timeoutMs })
            : new NatsQueueDepth({ timeoutMs: this.#timeoutMs });
      this.#readers.set(type, reader);
    }
    return reader;
  }
}

/** `redis list "tasks" at redis://host:6379` (password redacted), for messages. */
export function describeQueue(queue: QueueScaling): string {
  const what =
    queue.type === 'redis'
      ? `redis list "${queue.name}"`
      : queue.type === 'rabbitmq'
        ? `rabbitmq queue "${queue.name}"`
        : `nats stream "${queue.name}" consumer "${queue.consumer ?? ''}"`;
  return `${what} at ${redactUrl(queue.url)}`;
}

/** A client's message with the URL's password (raw or percent-encoded) taken out, should a client quote it. */
function scrub(message: string, url: string): string {
  let password: string;
  try {
    password = new URL(url).password;
  } catch {
    return message;
  }
  if (password === '') return message;
  return message.split(password).join('***').split(decodeURIComponent(password)).join('***');
}
