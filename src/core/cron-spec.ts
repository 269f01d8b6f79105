/**
 * The rules for cron schedules wherever a spec has one (autoscaling windows, scheduled jobs): a
 * 5-field expression that cron-parser accepts, in an IANA time zone this runtime knows. Pure.
 */
import { CronExpressionParser } from 'cron-parser';
import { fail } from './validation.js';

/** A cron expression of exactly five fields that cron-parser accepts; its reason is quoted when it does not. */
export function validCron(value: unknown, field: string, timezone: string): string {
  if (typeof value !== 'string' || value.trim().split(/\s+/).length !== 5)
    fail(field, 'must be a 5-field cron expression (minute hour day-of-month month day-of-week)', value);
  try {
    // Some faults only show when the expression is iterated, so take one step too.
    CronExpressionParser.parse(value, { tz: timezone, currentDate: 0 }).next();
  } catch (error) {
    fail(field, `must be a valid cron expression (${(error as Error).message})`, value);
  }
  return value;
}

/** An IANA time zone name that this runtime's `Intl` knows, e.g. `Europe/Berlin`. */
export function validTimezone(value: unknown, field: string): string {
  const rule = "must be an IANA time zone name such as 'Europe/Berlin' or 'UTC'";
  if (typeof value !== 'string' || value === '') fail(field, rule, value);
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: value });
  } catch {
    fail(field, rule, value);
  }
  return value;
}
