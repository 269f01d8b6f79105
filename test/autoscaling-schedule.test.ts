import assert from 'node:assert/strict';
import { test } from 'node:test';
import { activeSchedule, boundsAt } from '../src/core/autoscaling/schedule.js';
import { resolveScaling } from '../src/core/autoscaling/scaling-spec.js';
import type { ScalingSchedule } from '../src/core/resources.js';

const businessHours: ScalingSchedule = { name: 'business-hours', start: '0 8 * * 1-5', end: '0 18 * * 1-5', min: 3 };
const nights: ScalingSchedule = { name: 'nights', start: '0 22 * * *', end: '0 6 * * *', max: 1 };
const berlin: ScalingSchedule = {
  name: 'berlin-day',
  start: '0 8 * * *',
  end: '0 18 * * *',
  timezone: 'Europe/Berlin',
  min: 4,
};
const kolkata: ScalingSchedule = {
  name: 'kolkata-morning',
  start: '30 9 * * *',
  end: '0 12 * * *',
  timezone: 'Asia/Kolkata',
};

const windows: { name: string; schedule: ScalingSchedule; now: string; open?: { since: string; until: string } }[] = [
  // 2024-03-13 is a Wednesday, 2024-03-16 a Saturday.
  {
    name: 'business hours at noon on a Wednesday',
    schedule: businessHours,
    now: '2024-03-13T12:00:00Z',
    open: { since: '2024-03-13T08:00:00.000Z', until: '2024-03-13T18:00:00.000Z' },
  },
  { name: 'business hours in the evening', schedule: businessHours, now: '2024-03-13T19:00:00Z' },
  { name: 'business hours before they start', schedule: businessHours, now: '2024-03-13T07:59:59Z' },
  { name: 'business hours on a Saturday', schedule: businessHours, now: '2024-03-16T12:00:00Z' },
  {
    name: 'business hours at the very minute they start',
    schedule: businessHours,
    now: '2024-03-13T08:00:00Z',
    open: { since: '2024-03-13T08:00:00.000Z', until: '2024-03-13T18:00:00.000Z' },
  },
  { name: 'business hours at the very minute they end', schedule: businessHours, now: '2024-03-13T18:00:00Z' },
  {
    name: 'nights before midnight',
    schedule: nights,
    now: '2024-03-13T23:30:00Z',
    open: { since: '2024-03-13T22:00:00.000Z', until: '2024-03-14T06:00:00.000Z' },
  },
  {
    name: 'nights after midnight',
    schedule: nights,
    now: '2024-03-14T03:00:00Z',
    open: { since: '2024-03-13T22:00:00.000Z', until: '2024-03-14T06:00:00.000Z' },
  },
  { name: 'nights in the morning', schedule: nights, now: '2024-03-14T07:00:00Z' },
  { name: 'nights in the afternoon', schedule: nights, now: '2024-03-14T15:00:00Z' },
  // Berlin is UTC+2 in July: 08:00-18:00 there is 06:00-16:00 UTC.
  {
    name: 'a Berlin day at 06:30 UTC',
    schedule: berlin,
    now: '2024-07-01T06:30:00Z',
    open: { since: '2024-07-01T06:00:00.000Z', until: '2024-07-01T16:00:00.000Z' },
  },
  { name: 'a Berlin day at 16:30 UTC', schedule: berlin, now: '2024-07-01T16:30:00Z' },
  // UTC+1 in January.
  {
    name: 'a Berlin winter day at 07:30 UTC',
    schedule: berlin,
    now: '2024-01-15T07:30:00Z',
    open: { since: '2024-01-15T07:00:00.000Z', until: '2024-01-15T17:00:00.000Z' },
  },
  { name: 'a Berlin winter day at 06:30 UTC', schedule: berlin, now: '2024-01-15T06:30:00Z' },
  // A half-hour zone: 09:30-12:00 IST is 04:00-06:30 UTC.
  {
    name: 'a Kolkata morning at 04:10 UTC',
    schedule: kolkata,
    now: '2024-03-13T04:10:00Z',
    open: { since: '2024-03-13T04:00:00.000Z', until: '2024-03-13T06:30:00.000Z' },
  },
  { name: 'a Kolkata morning at 03:50 UTC', schedule: kolkata, now: '2024-03-13T03:50:00Z' },
];

for (const w of windows) {
  test(`activeSchedule: ${w.name} is ${w.open ? 'open' : 'closed'}`, () => {
    const active = activeSchedule([w.schedule], new Date(w.now));
    if (w.open === undefined) {
      assert.equal(active, undefined);
      return;
    }
    assert.ok(active, 'open');
    assert.equal(active.schedule, w.schedule);
    assert.equal(active.since.toISOString(), w.open.since);
    assert.equal(active.until?.toISOString(), w.open.until);
  });
}

test('activeSchedule: the first open schedule wins', () => {
  const everything: ScalingSchedule = { name: 'always-from-7', start: '0 7 * * *', end: '59 23 * * *' };
  const now = new Date('2024-03-13T12:00:00Z');
  assert.equal(activeSchedule([nights, businessHours, everything], now)?.schedule.name, 'business-hours');
  assert.equal(activeSchedule([everything, businessHours], now)?.schedule.name, 'always-from-7');
  assert.equal(activeSchedule([], now), undefined);
});

test('boundsAt: an open schedule overrides the bounds it gives, keeping min ≤ max', () => {
  const spec = { min: 1, max: 10, targetCPU: 80, targetMemory: 80 };
  const noon = new Date('2024-03-13T12:00:00Z');
  const at = (schedules: ScalingSchedule[], now = noon, s = spec) => boundsAt(resolveScaling({ ...s, schedules }), now);
  assert.deepEqual(at([]), { min: 1, max: 10 });
  assert.deepEqual(at([businessHours]), { min: 3, max: 10, schedule: 'business-hours' });
  assert.deepEqual(
    at([businessHours], new Date('2024-03-13T20:00:00Z')),
    { min: 1, max: 10 },
    'closed: the spec bounds',
  );
  assert.deepEqual(at([nights], new Date('2024-03-13T23:00:00Z')), { min: 1, max: 1, schedule: 'nights' });
  assert.deepEqual(
    at([{ ...businessHours, min: 20 }]),
    { min: 20, max: 20, schedule: 'business-hours' },
    "the schedule's min lifts the spec's max",
  );
  assert.deepEqual(
    at([{ ...businessHours, min: undefined, max: 0 }], noon, { ...spec, min: 2 }),
    { min: 0, max: 0, schedule: 'business-hours' },
    "the schedule's max lowers the spec's min",
  );
  assert.deepEqual(at([{ ...businessHours, min: 0, max: 4 }]), { min: 0, max: 4, schedule: 'business-hours' });
  assert.deepEqual(
    at([{ name: 'window', start: '0 8 * * *', end: '0 18 * * *' }]),
    { min: 1, max: 10, schedule: 'window' },
    'a schedule without bounds keeps the spec bounds',
  );
});
