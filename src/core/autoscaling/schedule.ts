/**
 * Cron schedules that change a deployment's bounds for a time window (KEDA's cron scaler, with
 * Wharf's bounds instead of a replica count). Pure: `now` is passed in.
 *
 * A window opens at each firing of `start` and closes at the next firing of `end`, both read in
 * the schedule's time zone (default UTC). Whether it is open needs no memory of the past: it is
 * open exactly when `start` fired more recently than `end`. So a restarted autoscaler knows at
 * once, and windows across midnight (`start: '0 22 * * *'`, `end: '0 6 * * *'`) need no special case.
 *
 * @example
 *   boundsAt(resolveScaling(spec), new Date()); // { min: 2, max: 10, schedule: 'business-hours' } during the window
 */
import { CronExpressionParser } from 'cron-parser';
import type { ScalingSchedule } from '../resources.js';
import type { ResolvedScaling } from './scaling-spec.js';

/** An open schedule window. */
export interface ActiveSchedule {
  schedule: ScalingSchedule;
  /** When the window opened (the last firing of `start`). */
  since: Date;
  /** When it closes (the next firing of `end`); undefined if `end` never fires again. */
  until: Date | undefined;
}

/** The bounds the autoscaler keeps to now, and the schedule they came from, if any. */
export interface ScalingBounds {
  min: number;
  max: number;
  /** Name of the open schedule that set them. */
  schedule?: string;
}

/** The first schedule whose window is open at `now`, or undefined. Schedules with an invalid cron or zone count as closed. */
export function activeSchedule(schedules: readonly ScalingSchedule[], now: Date): ActiveSchedule | undefined {
  for (const schedule of schedules) {
    const timezone = schedule.timezone ?? 'UTC';
    const started = lastFiring(schedule.start, timezone, now);
    if (started === undefined) continue;
    const ended = lastFiring(schedule.end, timezone, now);
    if (ended !== undefined && ended.getTime() >= started.getTime()) continue;
    return { schedule, since: started, until: nextFiring(schedule.end, timezone, now) };
  }
  return undefined;
}

/**
 * The bounds at `now`: the spec's, with the open schedule's `min` / `max` where it gives them. A
 * bound the schedule gives wins over the spec's other bound (a schedule `min: 20` with a spec
 * `max: 10` gives 20..20), so the result always has `min ≤ max`.
 */
export function boundsAt(scaling: ResolvedScaling, now: Date): ScalingBounds {
  const open = activeSchedule(scaling.schedules, now);
  if (open === undefined) return { min: scaling.min, max: scaling.max };
  const { min: scheduleMin, max: scheduleMax, name } = open.schedule;
  let min = scheduleMin ?? scaling.min;
  let max = scheduleMax ?? scaling.max;
  if (min > max) {
    if (scheduleMin !== undefined && scheduleMax === undefined) max = min;
    else min = max;
  }
  return { min, max, schedule: name };
}

/** The latest firing at or before `now`. */
function lastFiring(expression: string, tz: string, now: Date): Date | undefined {
  // cron-parser's prev() is strictly before its current date; one millisecond later makes a firing at `now` count.
  return step(expression, tz, new Date(now.getTime() + 1), 'prev');
}

/** The first firing strictly after `now`. */
function nextFiring(expression: string, tz: string, now: Date): Date | undefined {
  return step(expression, tz, now, 'next');
}

function step(expression: string, tz: string, currentDate: Date, direction: 'prev' | 'next'): Date | undefined {
  try {
    const cron = CronExpressionParser.parse(expression, { tz, currentDate });
    return cron[direction]().toDate();
  } catch {
    return undefined;
  }
}
