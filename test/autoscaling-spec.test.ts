import assert from 'node:assert/strict';
import { test } from 'node:test';
import { autoscaled, resolveScaling, SCALING_FIELDS, validateScaling } from '../src/core/autoscaling/scaling-spec.js';
import type { ScalingSpec } from '../src/core/resources.js';

const base = { min: 0, max: 10, targetCPU: 80, targetMemory: 80 };
const schedule = { name: 'business-hours', start: '0 8 * * 1-5', end: '0 18 * * 1-5' };

test('validateScaling accepts a full spec', () => {
  validateScaling({
    ...base,
    metric: 'rps',
    target: 40,
    stableWindow: 120,
    panicWindow: 10,
    panicThreshold: 3,
    scaleDownDelay: 0,
    idleTimeout: 600,
    hold: { queue: 500, timeout: 60 },
    schedules: [
      { ...schedule, timezone: 'Europe/Berlin', min: 2, max: 20 },
      { name: 'nights', start: '0 22 * * *', end: '0 6 * * *', max: 1 },
    ],
    predictive: { enabled: true, bucket: 60, season: 1440, horizon: 180 },
  });
  validateScaling({ ...base, metric: 'custom', custom: { query: 'sum(queue_depth)', target: 5 } });
  validateScaling({ ...base, metric: 'cpu' });
  validateScaling({ ...base, predictive: { enabled: false, season: 0 } });
  validateScaling({ ...base, schedules: [] });
  validateScaling({
    ...base,
    metric: 'queue',
    queue: { type: 'redis', url: 'redis://127.0.0.1:6379/0', name: 'celery', target: 10 },
  });
  validateScaling({
    ...base,
    metric: 'queue',
    queue: { type: 'rabbitmq', url: 'amqps://u:p@mq.internal/jobs', name: 'q', target: 0.5 },
  });
  validateScaling({
    ...base,
    metric: 'queue',
    queue: { type: 'nats', url: 'nats://127.0.0.1:4222', name: 'TASKS', consumer: 'workers', target: 5 },
  });
});

const redisQueue = { type: 'redis', url: 'redis://127.0.0.1:6379', name: 'tasks', target: 5 };

const invalid: { name: string; scaling: Record<string, unknown>; error: RegExp }[] = [
  {
    name: 'max above 100',
    scaling: { ...base, max: 101 },
    error: /^configuration\.scaling\.max: must be an integer from 0 to 100, got 101$/,
  },
  {
    name: 'a fractional min',
    scaling: { ...base, min: 1.5 },
    error: /^configuration\.scaling\.min: must be an integer from 0 to 100, got 1\.5$/,
  },
  {
    name: 'min above max',
    scaling: { ...base, min: 3, max: 2 },
    error: /^configuration\.scaling\.max: must be at least scaling\.min \(3\), got 2$/,
  },
  {
    name: 'targetCPU 0',
    scaling: { ...base, targetCPU: 0 },
    error: /^configuration\.scaling\.targetCPU: must be an integer from 1 to 100, got 0$/,
  },
  {
    name: 'targetMemory missing',
    scaling: { min: 0, max: 1, targetCPU: 80 },
    error: /^configuration\.scaling\.targetMemory: .*got nothing$/,
  },
  {
    name: 'an unknown metric',
    scaling: { ...base, metric: 'gpu' },
    error: /^configuration\.scaling\.metric: must be one of concurrency, rps, cpu, memory, custom, queue, got "gpu"$/,
  },
  {
    name: 'target 0',
    scaling: { ...base, target: 0 },
    error: /^configuration\.scaling\.target: must be a number above 0, got 0$/,
  },
  {
    name: 'target as a string',
    scaling: { ...base, metric: 'rps', target: '50' },
    error: /^configuration\.scaling\.target: must be a number above 0, got "50"$/,
  },
  {
    name: 'target with metric cpu',
    scaling: { ...base, metric: 'cpu', target: 50 },
    error: /^configuration\.scaling\.target: applies to metrics concurrency and rps only \(metric cpu uses targetCPU\)/,
  },
  {
    name: 'custom metric without custom',
    scaling: { ...base, metric: 'custom' },
    error: /^configuration\.scaling\.custom: is required when metric is 'custom'$/,
  },
  {
    name: 'custom with another metric',
    scaling: { ...base, custom: { query: 'q', target: 1 } },
    error: /^configuration\.scaling\.custom: is allowed only when metric is 'custom'$/,
  },
  {
    name: 'an empty custom query',
    scaling: { ...base, metric: 'custom', custom: { query: '', target: 1 } },
    error: /^configuration\.scaling\.custom\.query: must be a non-empty string/,
  },
  {
    name: 'custom target 0',
    scaling: { ...base, metric: 'custom', custom: { query: 'q', target: 0 } },
    error: /^configuration\.scaling\.custom\.target: must be a number above 0, got 0$/,
  },
  {
    name: 'an unknown custom field',
    scaling: { ...base, metric: 'custom', custom: { query: 'q', target: 1, unit: 'x' } },
    error: /^configuration\.scaling\.custom\.unit: unknown field \(allowed: query, target\)$/,
  },
  {
    name: 'stableWindow 5',
    scaling: { ...base, stableWindow: 5 },
    error: /^configuration\.scaling\.stableWindow: must be a number of seconds from 6 to 3600, got 5$/,
  },
  {
    name: 'panicWindow above stableWindow',
    scaling: { ...base, stableWindow: 30, panicWindow: 31 },
    error: /^configuration\.scaling\.panicWindow: must be a number of seconds from 1 to stableWindow \(30\), got 31$/,
  },
  {
    name: 'panicWindow above the default stableWindow',
    scaling: { ...base, panicWindow: 61 },
    error: /^configuration\.scaling\.panicWindow: .*stableWindow \(60\), got 61$/,
  },
  { name: 'panicWindow 0', scaling: { ...base, panicWindow: 0 }, error: /^configuration\.scaling\.panicWindow: / },
  {
    name: 'panicThreshold 1',
    scaling: { ...base, panicThreshold: 1 },
    error: /^configuration\.scaling\.panicThreshold: must be a multiple from 1\.1 to 10, got 1$/,
  },
  {
    name: 'panicThreshold 11',
    scaling: { ...base, panicThreshold: 11 },
    error: /^configuration\.scaling\.panicThreshold: .*got 11$/,
  },
  {
    name: 'scaleDownDelay -1',
    scaling: { ...base, scaleDownDelay: -1 },
    error: /^configuration\.scaling\.scaleDownDelay: must be a number of seconds from 0 to 3600, got -1$/,
  },
  {
    name: 'idleTimeout 5',
    scaling: { ...base, idleTimeout: 5 },
    error: /^configuration\.scaling\.idleTimeout: must be a number of seconds from 10 to 86400, got 5$/,
  },
  {
    name: 'hold.queue 0',
    scaling: { ...base, hold: { queue: 0, timeout: 30 } },
    error: /^configuration\.scaling\.hold\.queue: must be an integer from 1 to 10000, got 0$/,
  },
  {
    name: 'hold.timeout missing',
    scaling: { ...base, hold: { queue: 10 } },
    error: /^configuration\.scaling\.hold\.timeout: must be a number from 1 to 600, got nothing$/,
  },
  {
    name: 'hold.timeout 601',
    scaling: { ...base, hold: { queue: 10, timeout: 601 } },
    error: /^configuration\.scaling\.hold\.timeout: .*got 601$/,
  },
  {
    name: 'an unknown hold field',
    scaling: { ...base, hold: { queue: 10, timeout: 5, size: 1 } },
    error: /^configuration\.scaling\.hold\.size: unknown field/,
  },
  {
    name: 'an unknown scaling field',
    scaling: { ...base, targetRps: 5 },
    error: /^configuration\.scaling\.targetRps: unknown field \(allowed: min, max, /,
  },
  {
    name: '21 schedules',
    scaling: { ...base, schedules: Array.from({ length: 21 }, (_, i) => ({ ...schedule, name: `s${i}` })) },
    error: /^configuration\.scaling\.schedules: must be a list of 0 to 20 items/,
  },
  {
    name: 'a schedule name that is not a DNS label',
    scaling: { ...base, schedules: [{ ...schedule, name: 'Business Hours' }] },
    error: /^configuration\.scaling\.schedules\[0\]\.name: must be a DNS label/,
  },
  {
    name: 'two schedules with one name',
    scaling: { ...base, schedules: [schedule, { ...schedule }] },
    error:
      /^configuration\.scaling\.schedules\[1\]\.name: must be unique \(schedules\[0\] has the same name\), got "business-hours"$/,
  },
  {
    name: 'a 6-field cron',
    scaling: { ...base, schedules: [{ ...schedule, start: '0 0 8 * * 1-5' }] },
    error:
      /^configuration\.scaling\.schedules\[0\]\.start: must be a 5-field cron expression \(minute hour day-of-month month day-of-week\), got "0 0 8 \* \* 1-5"$/,
  },
  {
    name: 'a cron alias',
    scaling: { ...base, schedules: [{ ...schedule, end: '@daily' }] },
    error: /^configuration\.scaling\.schedules\[0\]\.end: must be a 5-field cron/,
  },
  {
    name: 'a cron minute of 61',
    scaling: { ...base, schedules: [{ ...schedule, start: '61 8 * * *' }] },
    error:
      /^configuration\.scaling\.schedules\[0\]\.start: must be a valid cron expression \(Constraint error, got value 61 expected range 0-59\), got "61 8 \* \* \*"$/,
  },
  {
    name: 'an impossible cron date',
    scaling: { ...base, schedules: [{ ...schedule, end: '0 0 31 2 *' }] },
    error: /^configuration\.scaling\.schedules\[0\]\.end: must be a valid cron expression \(.+\), got "0 0 31 2 \*"$/,
  },
  {
    name: 'an unknown time zone',
    scaling: { ...base, schedules: [{ ...schedule, timezone: 'Mars/Olympus' }] },
    error:
      /^configuration\.scaling\.schedules\[0\]\.timezone: must be an IANA time zone name such as 'Europe\/Berlin' or 'UTC', got "Mars\/Olympus"$/,
  },
  {
    name: 'a schedule min above its max',
    scaling: { ...base, schedules: [{ ...schedule, min: 5, max: 4 }] },
    error: /^configuration\.scaling\.schedules\[0\]\.max: must be at least the schedule's min \(5\), got 4$/,
  },
  {
    name: 'a schedule max of 101',
    scaling: { ...base, schedules: [{ ...schedule, max: 101 }] },
    error: /^configuration\.scaling\.schedules\[0\]\.max: must be an integer from 0 to 100, got 101$/,
  },
  {
    name: 'an unknown schedule field',
    scaling: { ...base, schedules: [{ ...schedule, replicas: 3 }] },
    error: /^configuration\.scaling\.schedules\[0\]\.replicas: unknown field/,
  },
  {
    name: 'predictive without enabled',
    scaling: { ...base, predictive: { bucket: 60 } },
    error: /^configuration\.scaling\.predictive\.enabled: must be true or false, got nothing$/,
  },
  {
    name: 'a predictive bucket of 5',
    scaling: { ...base, predictive: { enabled: true, bucket: 5 } },
    error: /^configuration\.scaling\.predictive\.bucket: must be an integer from 10 to 3600, got 5$/,
  },
  {
    name: 'a predictive season of 1',
    scaling: { ...base, predictive: { enabled: true, season: 1 } },
    error:
      /^configuration\.scaling\.predictive\.season: must be 0 \(no seasonality\) or an integer number of buckets from 2 to 10080, got 1$/,
  },
  {
    name: 'a predictive horizon of a year',
    scaling: { ...base, predictive: { enabled: true, horizon: 31_536_000 } },
    error: /^configuration\.scaling\.predictive\.horizon: must be a number of seconds from 0 to 86400, got 31536000$/,
  },
  {
    name: 'an unknown predictive field',
    scaling: { ...base, predictive: { enabled: true, model: 'arima' } },
    error: /^configuration\.scaling\.predictive\.model: unknown field/,
  },
];

invalid.push(
  {
    name: 'metric queue without queue',
    scaling: { ...base, metric: 'queue' },
    error: /^configuration\.scaling\.queue: is required when metric is 'queue'$/,
  },
  {
    name: 'queue with another metric',
    scaling: { ...base, metric: 'rps', queue: redisQueue },
    error: /^configuration\.scaling\.queue: is allowed only when metric is 'queue'$/,
  },
  {
    name: 'target with metric queue',
    scaling: { ...base, metric: 'queue', target: 5, queue: redisQueue },
    error:
      /^configuration\.scaling\.target: applies to metrics concurrency and rps only \(metric queue uses queue\.target\)/,
  },
  {
    name: 'an unknown queue type',
    scaling: { ...base, metric: 'queue', queue: { ...redisQueue, type: 'kafka' } },
    error: /^configuration\.scaling\.queue\.type: must be one of redis, rabbitmq, nats, got "kafka"$/,
  },
  {
    name: 'a queue URL whose scheme is not its type',
    scaling: { ...base, metric: 'queue', queue: { ...redisQueue, type: 'rabbitmq', url: 'redis://127.0.0.1:6379' } },
    error:
      /^configuration\.scaling\.queue\.url: must be a URL with scheme amqp:\/\/ or amqps:\/\/ and a host \(type rabbitmq\), got "redis:\/\/127\.0\.0\.1:6379"$/,
  },
  {
    name: 'a queue URL that is not a URL, with its password hidden',
    scaling: {
      ...base,
      metric: 'queue',
      queue: { ...redisQueue, type: 'nats', consumer: 'w', url: 'nats:/admin:hunter2@' },
    },
    error:
      /^configuration\.scaling\.queue\.url: must be a URL with scheme nats:\/\/ or tls:\/\/ and a host \(type nats\), got "nats:\/admin:\*\*\*@"$/,
  },
  {
    name: 'a refused queue URL, with its password hidden',
    scaling: { ...base, metric: 'queue', queue: { ...redisQueue, url: 'http://admin:hunter2@127.0.0.1' } },
    error: /^configuration\.scaling\.queue\.url: .*got "http:\/\/admin:\*\*\*@127\.0\.0\.1"$/,
  },
  {
    name: 'an empty queue name',
    scaling: { ...base, metric: 'queue', queue: { ...redisQueue, name: '' } },
    error: /^configuration\.scaling\.queue\.name: must be a non-empty string/,
  },
  {
    name: 'a queue target of 0',
    scaling: { ...base, metric: 'queue', queue: { ...redisQueue, target: 0 } },
    error: /^configuration\.scaling\.queue\.target: must be a number of messages per replica above 0, got 0$/,
  },
  {
    name: 'a queue without a target',
    scaling: { ...base, metric: 'queue', queue: { type: 'redis', url: 'redis://h', name: 'q' } },
    error: /^configuration\.scaling\.queue\.target: .*got nothing$/,
  },
  {
    name: 'a nats queue without consumer',
    scaling: { ...base, metric: 'queue', queue: { ...redisQueue, type: 'nats', url: 'nats://127.0.0.1:4222' } },
    error: /^configuration\.scaling\.queue\.consumer: is required for type nats \(the durable consumer\)$/,
  },
  {
    name: 'a consumer on a redis queue',
    scaling: { ...base, metric: 'queue', queue: { ...redisQueue, consumer: 'w' } },
    error: /^configuration\.scaling\.queue\.consumer: is allowed only for type nats$/,
  },
  {
    name: 'an unknown queue field',
    scaling: { ...base, metric: 'queue', queue: { ...redisQueue, durable: true } },
    error: /^configuration\.scaling\.queue\.durable: unknown field/,
  },
);

for (const c of invalid) {
  test(`validateScaling refuses ${c.name}`, () => {
    assert.throws(
      () => validateScaling(c.scaling),
      (e: Error) => {
        assert.equal((e as { code?: string }).code, 'INVALID_ARGUMENT');
        assert.match(e.message, c.error);
        return true;
      },
    );
  });
}

test('validateScaling names the field it was given', () => {
  assert.throws(
    () => validateScaling({ ...base, max: -1 }, 'spec.scaling'),
    /^InvalidArgumentError: spec\.scaling\.max: /,
  );
});

test('resolveScaling fills every default', () => {
  assert.deepEqual(resolveScaling(base), {
    ...base,
    metric: 'concurrency',
    target: 10,
    stableWindow: 60,
    panicWindow: 3,
    panicThreshold: 2,
    scaleDownDelay: 300,
    idleTimeout: 300,
    hold: { queue: 100, timeout: 30 },
    schedules: [],
    predictive: { enabled: false, bucket: 60, season: 1440, horizon: 120 },
  });
  const targets: [Partial<ScalingSpec>, number][] = [
    [{ metric: 'concurrency', target: 4 }, 4],
    [{ metric: 'rps' }, 50],
    [{ metric: 'rps', target: 7.5 }, 7.5],
    [{ metric: 'cpu', targetCPU: 70 }, 70],
    [{ metric: 'memory', targetMemory: 65 }, 65],
    [{ metric: 'custom', custom: { query: 'q', target: 3 } }, 3],
    [{ metric: 'queue', queue: { type: 'redis', url: 'redis://h', name: 'q', target: 4 } }, 4],
  ];
  for (const [spec, target] of targets)
    assert.equal(resolveScaling({ ...base, ...spec }).target, target, JSON.stringify(spec));
  const partial = resolveScaling({ ...base, predictive: { enabled: true, horizon: 300 }, scaleDownDelay: 0 });
  assert.deepEqual(partial.predictive, { enabled: true, bucket: 60, season: 1440, horizon: 300 });
  assert.equal(partial.scaleDownDelay, 0, 'an explicit 0 is kept');
  assert.deepEqual(resolveScaling({ ...base, metric: 'custom', custom: { query: 'q', target: 3 } }).custom, {
    query: 'q',
    target: 3,
  });
});

test('autoscaled: a range of sizes or scale to zero', () => {
  assert.equal(autoscaled({ min: 2, max: 2 }), false);
  assert.equal(autoscaled({ min: 0, max: 0 }), false);
  assert.equal(autoscaled({ min: 1, max: 3 }), true);
  assert.equal(autoscaled({ min: 0, max: 1 }), true);
});

test('SCALING_FIELDS lists every ScalingSpec key', () => {
  const full: Required<ScalingSpec> = {
    ...base,
    metric: 'rps',
    target: 1,
    custom: { query: 'q', target: 1 },
    queue: { type: 'redis', url: 'redis://127.0.0.1:6379', name: 'tasks', target: 5 },
    stableWindow: 60,
    panicWindow: 6,
    panicThreshold: 2,
    scaleDownDelay: 300,
    idleTimeout: 300,
    hold: { queue: 1, timeout: 1 },
    schedules: [],
    predictive: { enabled: false },
  };
  assert.deepEqual([...SCALING_FIELDS].sort(), Object.keys(full).sort());
});
