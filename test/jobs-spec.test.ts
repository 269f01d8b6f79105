// The pure rules of a job request: defaults, the threshold and timeout readings, and schedule slots
// in a time zone (the latest slot since the last run, so missed slots collapse into one).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { dueSlot, errorThresholdOf, JOB_DEFAULTS, nextSlot, validateJobRequest } from '../src/core/job-spec.js';

const body = {
  name: 'score',
  environment: 'staging',
  model: { name: 'risk', version: '1.0.0' },
  input: { url: '/data/in.csv', format: 'csv' },
  output: { url: 's3://bucket-1/out.jsonl', format: 'jsonl' },
};

test('defaults fill what is left out; thresholds and timeouts read as written', () => {
  const { spec } = validateJobRequest(body);
  assert.equal(spec.batchSize, JOB_DEFAULTS.batchSize);
  assert.equal(spec.timeoutSeconds, JOB_DEFAULTS.timeoutSeconds);
  assert.equal(validateJobRequest({ ...body, timeout: '5m' }).spec.timeoutSeconds, 300);
  assert.deepEqual(errorThresholdOf('1.5%'), { percent: 1.5 });
  assert.deepEqual(errorThresholdOf(100), { count: 100 });
  assert.equal(
    validateJobRequest({ ...body, schedule: { cron: '0 2 * * *' } }).spec.schedule?.concurrencyPolicy,
    'Forbid',
  );
});

test('each broken rule names its field', () => {
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ ...body, model: undefined }, /Error: model: exactly one of model and deployment/],
    [{ ...body, deployment: 'risk' }, /Error: model: exactly one/],
    [{ ...body, batchSize: 0 }, /Error: batchSize: must be an integer from 1/],
    [{ ...body, errorThreshold: '-1%' }, /Error: errorThreshold:/],
    [{ ...body, timeout: '2d' }, /Error: timeout:/],
    [{ ...body, input: { url: 'http://x/in.csv', format: 'csv' } }, /Error: input\.url:/],
    [{ ...body, input: { url: '/in', format: 'parquet' } }, /Error: input\.format:/],
    [{ ...body, outptu: {} }, /Error: outptu: unknown field/],
    [{ ...body, schedule: { cron: '0 2 * *' } }, /Error: schedule\.cron: must be a 5-field/],
    [
      { ...body, schedule: { cron: '0 2 * * *', concurrencyPolicy: 'Sometimes' } },
      /Error: schedule\.concurrencyPolicy:/,
    ],
  ];
  for (const [input, message] of cases) assert.throws(() => validateJobRequest(input), message);
});

test('slots are read in the time zone; the latest slot since the last run is the one due', () => {
  const schedule = {
    cron: '0 2 * * *',
    timezone: 'America/New_York',
    concurrencyPolicy: 'Forbid' as const,
    historyLimit: 3,
  };
  // 02:00 in New York is 07:00 UTC in winter.
  assert.equal(
    new Date(nextSlot(schedule, Date.parse('2026-01-01T00:00:00Z'))).toISOString(),
    '2026-01-01T07:00:00.000Z',
  );
  const after = Date.parse('2026-01-01T08:00:00Z');
  assert.equal(dueSlot(schedule, after, Date.parse('2026-01-02T06:59:59Z')), undefined, 'not yet');
  const due = dueSlot(schedule, after, Date.parse('2026-01-05T12:00:00Z'));
  assert.equal(new Date(due!).toISOString(), '2026-01-05T07:00:00.000Z', 'four missed slots: only the latest');
  assert.equal(dueSlot(schedule, due!, Date.parse('2026-01-05T12:00:00Z')), undefined, 'made once');
  const exact = Date.parse('2026-01-06T07:00:00Z');
  assert.equal(dueSlot(schedule, due!, exact), exact, 'a slot at now is due');
});
