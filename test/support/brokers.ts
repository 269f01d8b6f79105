/**
 * The message brokers of the machine for tests that need a real one: Redis, RabbitMQ and NATS
 * (with JetStream), at the usual local ports unless `WHARF_TEST_REDIS_URL`, `WHARF_TEST_AMQP_URL`
 * or `WHARF_TEST_NATS_URL` say otherwise. When one does not answer, the test is skipped with the
 * reason, except under `CI=true`, where that is a failure: CI must run the broker tests.
 */
import { randomBytes } from 'node:crypto';
import type { TestContext } from 'node:test';
import amqp from 'amqplib';
import { Redis } from 'ioredis';
import { AckPolicy, connect } from 'nats';
import { redactUrl } from '../../src/core/autoscaling/queue-spec.js';
import type { QueueScaling } from '../../src/core/resources.js';

/** The brokers a test can ask for. */
export type Broker = 'redis' | 'rabbitmq' | 'nats';

/** Where each broker is looked for. */
export function brokerUrl(broker: Broker): string {
  switch (broker) {
    case 'redis':
      return process.env.WHARF_TEST_REDIS_URL || 'redis://127.0.0.1:6379';
    case 'rabbitmq':
      return process.env.WHARF_TEST_AMQP_URL || 'amqp://guest:guest@127.0.0.1:5672';
    case 'nats':
      return process.env.WHARF_TEST_NATS_URL || 'nats://127.0.0.1:4222';
  }
}

/**
 * The broker's URL once it answered a real request (PING, a channel, a JetStream account info), or
 * undefined after `t.skip(reason)`; throws under CI instead of skipping.
 */
export async function brokerOrSkip(t: TestContext, broker: Broker): Promise<string | undefined> {
  const url = brokerUrl(broker);
  try {
    await probe(broker, url);
    return url;
  } catch (error) {
    const reason = `no ${broker} at ${redactUrl(url)} (${(error as Error).message}); set ${envName(broker)} to run it`;
    if (process.env.CI === 'true' || process.env.CI === '1')
      throw new Error(`${reason}. CI must run the broker tests.`, { cause: error });
    t.diagnostic(reason);
    t.skip(reason);
    return undefined;
  }
}

function envName(broker: Broker): string {
  return broker === 'redis'
    ? 'WHARF_TEST_REDIS_URL'
    : broker === 'rabbitmq'
      ? 'WHARF_TEST_AMQP_URL'
      : 'WHARF_TEST_NATS_URL';
}

async function probe(broker: Broker, url: string): Promise<void> {
  if (broker === 'redis') {
    const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    redis.on('error', () => undefined);
    try {
      await redis.connect();
      await redis.ping();
    } finally {
      redis.disconnect();
    }
  } else if (broker === 'rabbitmq') {
    const connection = await amqp.connect(url, { timeout: 2_000 });
    connection.on('error', () => undefined);
    await connection.close();
  } else {
    const nc = await connect({ ...natsServer(url), timeout: 2_000, reconnect: false });
    try {
      await (await nc.jetstreamManager({ timeout: 2_000 })).getAccountInfo();
    } finally {
      await nc.close();
    }
  }
}

/** A fresh queue on a real broker for one test, with ways to fill and empty it. */
export interface TestQueue {
  /** The `scaling.queue` of it (target 1: callers spread their own). */
  readonly queue: QueueScaling;
  /** Adds `n` messages. */
  push(n: number): Promise<void>;
  /** Removes every message (as workers that finished would). */
  drain(): Promise<void>;
  /** Deletes the queue and closes the test's connection. */
  remove(): Promise<void>;
}

/** A new, empty queue on `broker` at `url` (a Redis list, a RabbitMQ queue, a JetStream stream with consumer `workers`). */
export async function createTestQueue(broker: Broker, url: string): Promise<TestQueue> {
  const name = `wharf-test-${process.pid}-${randomBytes(3).toString('hex')}`;
  if (broker === 'redis') {
    const redis = new Redis(url);
    return {
      queue: { type: 'redis', url, name, target: 1 },
      push: async (n) => void (await redis.lpush(name, ...Array.from({ length: n }, (_, i) => `task-${i}`))),
      drain: async () => void (await redis.del(name)),
      remove: async () => {
        await redis.del(name);
        redis.disconnect();
      },
    };
  }
  if (broker === 'rabbitmq') {
    const connection = await amqp.connect(url);
    const channel = await connection.createConfirmChannel();
    await channel.assertQueue(name, { durable: false });
    return {
      queue: { type: 'rabbitmq', url, name, target: 1 },
      push: async (n) => {
        for (let i = 0; i < n; i++) channel.sendToQueue(name, Buffer.from(`task-${i}`));
        await channel.waitForConfirms(); // the broker has them before the caller reads the depth
      },
      drain: async () => void (await channel.purgeQueue(name)),
      remove: async () => {
        await channel.deleteQueue(name);
        await connection.close();
      },
    };
  }
  const stream = name.replaceAll('-', '_').toUpperCase();
  const nc = await connect({ ...natsServer(url) });
  const jsm = await nc.jetstreamManager();
  await jsm.streams.add({ name: stream, subjects: [`${stream}.tasks`] });
  await jsm.consumers.add(stream, { durable_name: 'workers', ack_policy: AckPolicy.Explicit });
  const js = nc.jetstream();
  return {
    queue: { type: 'nats', url, name: stream, consumer: 'workers', target: 1 },
    push: async (n) => {
      for (let i = 0; i < n; i++) await js.publish(`${stream}.tasks`, new TextEncoder().encode(`task-${i}`));
    },
    drain: async () => void (await jsm.streams.purge(stream)),
    remove: async () => {
      await jsm.streams.delete(stream);
      await nc.close();
    },
  };
}

function natsServer(url: string): { servers: string } {
  const u = new URL(url);
  return { servers: `${u.hostname}:${u.port || 4222}` };
}
