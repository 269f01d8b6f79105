/**
 * The queue depth readers against the machine's real brokers: a Redis list (LLEN), a RabbitMQ
 * queue (messages ready, not the unacknowledged ones), a NATS JetStream consumer (pending plus ack
 * pending); a broker that is down, or a queue that does not exist, is a QueueDepthError whose
 * message names the queue and never the password; readers keep one connection and close it.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import amqp from 'amqplib';
import { Redis } from 'ioredis';
import { AckPolicy, connect, StringCodec } from 'nats';
import { QueueDepthError, QueueDepths } from '../src/metrics/queue-depth/queue-depths.js';
import type { QueueScaling } from '../src/core/resources.js';
import { brokerOrSkip } from './support/brokers.js';
import { eventually } from './support/eventually.js';
import { freePort } from './support/ports.js';

const unique = () => `wharf-qd-${process.pid}-${randomBytes(3).toString('hex')}`;

test('redis: LLEN of the list; a list that does not exist is empty', async (t) => {
  const url = await brokerOrSkip(t, 'redis');
  if (url === undefined) return;
  const redis = new Redis(url);
  const name = unique();
  const queues = new QueueDepths();
  t.after(async () => {
    await redis.del(name);
    redis.disconnect();
    await queues.close();
  });
  const queue: QueueScaling = { type: 'redis', url, name, target: 1 };
  assert.equal(await queues.depth(queue), 0);
  await redis.lpush(name, 'a', 'b', 'c');
  assert.equal(await queues.depth(queue), 3);
  await redis.rpop(name);
  assert.equal(await queues.depth(queue), 2, 'read again on the cached connection');
});

test('rabbitmq: messages ready count; a delivered, unacknowledged message does not', async (t) => {
  const url = await brokerOrSkip(t, 'rabbitmq');
  if (url === undefined) return;
  const connection = await amqp.connect(url);
  const channel = await connection.createChannel();
  const name = unique();
  const queues = new QueueDepths();
  t.after(async () => {
    await channel.deleteQueue(name);
    await connection.close();
    await queues.close();
  });
  await channel.assertQueue(name, { durable: false });
  const queue: QueueScaling = { type: 'rabbitmq', url, name, target: 1 };
  assert.equal(await queues.depth(queue), 0);
  for (const body of ['a', 'b', 'c', 'd']) channel.sendToQueue(name, Buffer.from(body));
  await channel.checkQueue(name); // a round trip after the publishes: the broker has them
  assert.equal(await queues.depth(queue), 4);
  const taken = await channel.get(name, { noAck: false });
  assert.ok(taken !== false, 'one message delivered');
  assert.equal(await queues.depth(queue), 3, 'the one being worked on is not waiting');

  await assert.rejects(queues.depth({ ...queue, name: `${name}-missing` }), (e: Error) => {
    assert.ok(e instanceof QueueDepthError);
    assert.match(e.message, /^rabbitmq queue "wharf-qd-.*-missing" at amqp:\/\/guest:\*\*\*@.*NOT_FOUND/);
    assert.doesNotMatch(e.message, /guest:guest/);
    return true;
  });
  assert.equal(await queues.depth(queue), 3, 'a missing queue does not break the next read');
});

test('nats: a JetStream consumer counts pending plus ack pending; a missing consumer is an error', async (t) => {
  const url = await brokerOrSkip(t, 'nats');
  if (url === undefined) return;
  const nc = await connect({ servers: new URL(url).host });
  const jsm = await nc.jetstreamManager();
  const stream = unique().replaceAll('-', '_').toUpperCase();
  const queues = new QueueDepths();
  t.after(async () => {
    await jsm.streams.delete(stream).catch(() => undefined);
    await nc.close();
    await queues.close();
  });
  await jsm.streams.add({ name: stream, subjects: [`${stream}.tasks`] });
  await jsm.consumers.add(stream, { durable_name: 'workers', ack_policy: AckPolicy.Explicit });
  const queue: QueueScaling = { type: 'nats', url, name: stream, consumer: 'workers', target: 1 };
  assert.equal(await queues.depth(queue), 0);
  const js = nc.jetstream();
  const sc = StringCodec();
  for (const body of ['a', 'b', 'c', 'd', 'e']) await js.publish(`${stream}.tasks`, sc.encode(body));
  assert.equal(await queues.depth(queue), 5);
  const consumer = await js.consumers.get(stream, 'workers');
  const first = await consumer.next({ expires: 2_000 });
  assert.ok(first !== null, 'one message delivered');
  assert.equal(await queues.depth(queue), 5, 'delivered and not acknowledged: still counted (ack pending)');
  first.ack();
  await nc.flush();
  const after = await queues.depth(queue);
  assert.equal(after, 4, 'acknowledged: done');

  await assert.rejects(queues.depth({ ...queue, consumer: 'nobody' }), (e: Error) => {
    assert.ok(e instanceof QueueDepthError);
    assert.match(e.message, /^nats stream "WHARF_QD_.*" consumer "nobody" at nats:\/\/.*: .*consumer not found/i);
    return true;
  });
});

test('a broker that is down is a QueueDepthError naming the queue, without the password', async (t) => {
  const port = await freePort(); // nothing listens there
  const queues = new QueueDepths({ timeoutMs: 1_000 });
  t.after(() => queues.close());
  const cases: QueueScaling[] = [
    { type: 'redis', url: `redis://:s3cret-pw@127.0.0.1:${port}/0`, name: 'tasks', target: 1 },
    { type: 'rabbitmq', url: `amqp://worker:s3cret-pw@127.0.0.1:${port}/`, name: 'tasks', target: 1 },
    { type: 'nats', url: `nats://worker:s3cret-pw@127.0.0.1:${port}`, name: 'TASKS', consumer: 'w', target: 1 },
  ];
  for (const queue of cases) {
    await assert.rejects(queues.depth(queue), (e: Error) => {
      assert.ok(e instanceof QueueDepthError, `${queue.type}: ${e.name}`);
      assert.equal((e as QueueDepthError).code, 'QUEUE_UNREADABLE');
      assert.match(
        e.message,
        new RegExp(
          `^${queue.type} .*"${queue.name}".* at ${queue.type === 'rabbitmq' ? 'amqp' : queue.type}://[^ ]*\\*\\*\\*@127\\.0\\.0\\.1:${port}`,
        ),
      );
      assert.doesNotMatch(e.message, /s3cret-pw/);
      return true;
    });
  }
});

test('close: every broker connection is closed and later reads are refused', async (t) => {
  const [redisUrl, amqpUrl, natsUrl] = [
    await brokerOrSkip(t, 'redis'),
    await brokerOrSkip(t, 'rabbitmq'),
    await brokerOrSkip(t, 'nats'),
  ];
  if (redisUrl === undefined || amqpUrl === undefined || natsUrl === undefined) return;
  // The queues to read, made over the test's own connections (open before the count starts).
  const name = unique();
  const stream = name.replaceAll('-', '_').toUpperCase();
  const rabbit = await amqp.connect(amqpUrl);
  const channel = await rabbit.createChannel();
  await channel.assertQueue(name, { durable: false });
  const nc = await connect({ servers: new URL(natsUrl).host });
  const jsm = await nc.jetstreamManager();
  await jsm.streams.add({ name: stream, subjects: [`${stream}.tasks`] });
  await jsm.consumers.add(stream, { durable_name: 'workers', ack_policy: AckPolicy.Explicit });
  const queues = new QueueDepths();
  t.after(async () => {
    await queues.close();
    await channel.deleteQueue(name);
    await rabbit.close();
    await jsm.streams.delete(stream);
    await nc.close();
  });

  const sockets = () => process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap').length;
  const before = sockets();
  const redis: QueueScaling = { type: 'redis', url: redisUrl, name, target: 1 };
  for (let i = 0; i < 2; i++) {
    assert.equal(await queues.depth(redis), 0);
    assert.equal(await queues.depth({ type: 'rabbitmq', url: amqpUrl, name, target: 1 }), 0);
    assert.equal(await queues.depth({ type: 'nats', url: natsUrl, name: stream, consumer: 'workers', target: 1 }), 0);
  }
  assert.equal(sockets(), before + 3, 'one connection per broker, kept between reads');
  await queues.close();
  await eventually(() => sockets() === before, { timeoutMs: 5_000, message: 'the readers left no socket open' });
  await assert.rejects(queues.depth(redis), /readers are closed/);
});
