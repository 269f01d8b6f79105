/**
 * How long a token lives: `--expires 30d` and the API's `expiresIn`, written as a count and a unit
 * (`90m`, `12h`, `30d`, `2w`, `1y`), capped at one year; and the expiry of a login session. Pure.
 */
import { fail } from '../validation.js';

const UNIT_MS: Record<string, number> = {
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 7 * 86_400_000,
  y: 365 * 86_400_000,
};

/** The longest a token may live. */
export const MAX_TOKEN_LIFETIME_MS = UNIT_MS.y!;
/** A token created without an expiry lives this long. */
export const DEFAULT_TOKEN_LIFETIME_MS = 30 * UNIT_MS.d!;
/** A `wharf login` session lives this long. */
export const LOGIN_SESSION_MS = 12 * UNIT_MS.h!;

/** Milliseconds in `value` (`30d`), or a 400 naming `field` and the rule. */
export function tokenLifetimeMs(value: unknown, field = 'expiresIn'): number {
  const m = typeof value === 'string' ? /^([1-9][0-9]{0,5})(m|h|d|w|y)$/.exec(value.trim()) : null;
  if (m === null) fail(field, 'must be a count and a unit m, h, d, w or y, e.g. 30d or 12h', value);
  const ms = Number(m[1]) * UNIT_MS[m[2]!]!;
  if (ms > MAX_TOKEN_LIFETIME_MS) fail(field, 'must be at most 1y', value);
  return ms;
}
