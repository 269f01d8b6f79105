/**
 * Small checks shared by the pure validators (strategies, analysis templates): every failure
 * is an {@link InvalidArgumentError} whose message starts with the field path and states the rule,
 * e.g. `metrics[0].count: must be an integer from 1 to 1000, got 0`.
 */
import { InvalidArgumentError } from './errors.js';

/** The most characters of a bad value an error message repeats. */
export const MAX_ECHO_CHARS = 80;

/**
 * A bad value as an error message shows it: JSON, cut to {@link MAX_ECHO_CHARS} characters. The
 * value is the caller's input, so it may be huge (a 50 MB string must not make a 50 MB error) or
 * nested too deep to stringify (that must not turn a 400 into a RangeError).
 */
export function echo(value: unknown): string {
  if (value === undefined) return 'nothing';
  let text: string;
  try {
    text =
      typeof value === 'string' && value.length > MAX_ECHO_CHARS
        ? JSON.stringify(value.slice(0, MAX_ECHO_CHARS))
        : (JSON.stringify(value) ?? String(value));
  } catch {
    text = Array.isArray(value) ? '[…]' : typeof value === 'object' ? '{…}' : String(value);
  }
  return text.length > MAX_ECHO_CHARS ? `${text.slice(0, MAX_ECHO_CHARS)}…` : text;
}

/** Throws `field: rule[, got value]`; the value is shown only when one is passed, cut short (see {@link echo}). */
export function fail(field: string, rule: string, ...value: [unknown] | []): never {
  const got = value.length === 0 ? '' : `, got ${echo(value[0])}`;
  throw new InvalidArgumentError(`${field}: ${rule}${got}`);
}

/** `prefix.key`, or `key` when there is no prefix. */
export function path(prefix: string, key: string): string {
  if (prefix === '') return key;
  return key.startsWith('[') ? `${prefix}${key}` : `${prefix}.${key}`;
}

/** The value as a plain object, or a failure. */
export function object(value: unknown, field: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    fail(field || 'body', 'must be an object', value);
  return value as Record<string, unknown>;
}

/** The value as an array of at most `max` items, or a failure. */
export function array(value: unknown, field: string, min: number, max: number): unknown[] {
  if (!Array.isArray(value) || value.length < min || value.length > max)
    fail(field, `must be a list of ${min} to ${max} items`, value);
  return value;
}

/** Refuses any key not in `keys`: a misspelt field must not be silently ignored. */
export function allowOnly(value: Record<string, unknown>, field: string, keys: readonly string[]): void {
  for (const key of Object.keys(value)) {
    if (!keys.includes(key)) fail(path(field, key), `unknown field (allowed: ${keys.join(', ')})`);
  }
}

/** A non-empty string of at most `max` characters. */
export function text(value: unknown, field: string, max = 10_000): string {
  if (typeof value !== 'string' || value === '' || value.length > max)
    fail(field, `must be a non-empty string of at most ${max} characters`, value);
  return value;
}

/** An integer from `min` to `max`. */
export function integer(value: unknown, field: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max)
    fail(field, `must be an integer from ${min} to ${max}`, value);
  return value;
}

/** A finite number from `min` to `max`. */
export function numberIn(value: unknown, field: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max)
    fail(field, `must be a number from ${min} to ${max}`, value);
  return value;
}

const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** A DNS label: 1–63 of `a-z 0-9 -`, starting and ending alphanumeric. */
export function dnsLabel(value: unknown, field: string): string {
  if (typeof value !== 'string' || !DNS_LABEL.test(value)) {
    fail(
      field,
      "must be a DNS label (1-63 lowercase letters, digits or '-', starting and ending with a letter or digit)",
      value,
    );
  }
  return value;
}
