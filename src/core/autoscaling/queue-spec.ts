/**
 * The rules of `configuration.scaling.queue` (the `queue` metric of workers): which broker, where,
 * which queue, and how many waiting messages one replica should take. Pure: no I/O.
 *
 * A broker URL may carry a password (`amqp://user:pass@host`), so nothing here ever echoes one:
 * errors and status show {@link redactUrl}'s form.
 *
 * @example
 *   validateQueue({ type: 'nats', url: 'nats://127.0.0.1:4222', name: 'TASKS', consumer: 'workers', target: 5 });
 *   redactUrl('amqp://guest:guest@127.0.0.1:5672/'); // 'amqp://guest:***@127.0.0.1:5672/'
 *   redactUrl('nats://s3cr3t@127.0.0.1:4222'); // 'nats://***@127.0.0.1:4222'
 */
import type { QueueScaling } from '../resources.js';
import { allowOnly, fail, object, text } from '../validation.js';

/** Keys allowed in `configuration.scaling.queue`. */
export const QUEUE_FIELDS: readonly string[] = ['type', 'url', 'name', 'consumer', 'target'];

/** The brokers a queue metric can read, each with the URL schemes its client accepts. */
export const QUEUE_SCHEMES: Readonly<Record<QueueScaling['type'], readonly string[]>> = {
  redis: ['redis:', 'rediss:'],
  rabbitmq: ['amqp:', 'amqps:'],
  nats: ['nats:', 'tls:'],
};

/** Throws an `InvalidArgumentError` naming the field unless `value` is a valid queue metric. */
export function validateQueue(value: unknown, field: string): void {
  const q = object(value, field);
  allowOnly(q, field, QUEUE_FIELDS);
  const types = Object.keys(QUEUE_SCHEMES);
  if (typeof q.type !== 'string' || !types.includes(q.type))
    fail(`${field}.type`, `must be one of ${types.join(', ')}`, q.type);
  const type = q.type as QueueScaling['type'];
  const schemes = QUEUE_SCHEMES[type];
  const rule = `must be a URL with scheme ${schemes.map((s) => `${s}//`).join(' or ')} and a host (type ${type})`;
  if (typeof q.url !== 'string') fail(`${field}.url`, rule, q.url);
  let url: URL | undefined;
  try {
    url = new URL(q.url);
  } catch {
    url = undefined;
  }
  // The value echoed is the redacted form: a rejected URL may still hold a real password.
  if (url === undefined || !schemes.includes(url.protocol) || url.hostname === '')
    fail(`${field}.url`, rule, redactUrl(q.url));
  text(q.name, `${field}.name`, 255);
  if (type === 'nats') {
    if (q.consumer === undefined) fail(`${field}.consumer`, 'is required for type nats (the durable consumer)');
    text(q.consumer, `${field}.consumer`, 255);
  } else if (q.consumer !== undefined) {
    fail(`${field}.consumer`, 'is allowed only for type nats');
  }
  if (typeof q.target !== 'number' || !Number.isFinite(q.target) || q.target <= 0)
    fail(`${field}.target`, 'must be a number of messages per replica above 0', q.target);
}

/**
 * `url` with the secret part of its user info replaced by `***`: the password of `user:pass@`, or
 * the whole of a lone `token@` (NATS takes a token there). Works on the raw text, so a string that
 * is not a valid URL is hidden as well: the form that may appear in errors, logs and status.
 */
export function redactUrl(url: string): string {
  return url.replace(/^([^:/@]+:\/*)([^/@]*)@/, (_, scheme: string, userInfo: string) => {
    const colon = userInfo.indexOf(':');
    return `${scheme}${colon === -1 ? '***' : `${userInfo.slice(0, colon)}:***`}@`;
  });
}
