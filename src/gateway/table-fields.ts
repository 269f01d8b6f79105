/**
 * The field checks that route-table validation is made of: each returns the value typed or throws
 * an {@link InvalidArgumentError} naming the field (`at`) and the rule.
 */
import { InvalidArgumentError } from '../core/errors.js';

/** An integer from `min` to `max` (`note` is appended to the rule). */
export function integer(value: unknown, at: string, min: number, max: number, note = ''): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    fail(at, `must be an integer from ${min} to ${max}${note}`, value);
  }
  return value as number;
}

/** One of `allowed`. */
export function choice<T extends string>(value: unknown, at: string, allowed: readonly T[]): T {
  if (!allowed.includes(value as T)) fail(at, `must be one of ${allowed.map((a) => `'${a}'`).join(', ')}`, value);
  return value as T;
}

/** A plain object (not null, not an array). */
export function object(value: unknown, at: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(at, 'must be an object', value);
  return value as Record<string, unknown>;
}

/** An array. */
export function array(value: unknown, at: string): unknown[] {
  if (!Array.isArray(value)) fail(at, 'must be an array', value);
  return value as unknown[];
}

/** A non-empty string. */
export function text(value: unknown, at: string): string {
  if (typeof value !== 'string' || value === '') fail(at, 'must be a non-empty string', value);
  return value as string;
}

/** A non-empty string without `/` (a path segment of the route prefix). */
export function segment(value: unknown, at: string): string {
  const s = text(value, at);
  if (s.includes('/')) fail(at, "must not contain '/'", s);
  return s;
}

/** Throws the InvalidArgumentError for field `at` breaking `rule`, with what it got (shortened). */
export function fail(at: string, rule: string, got?: unknown): never {
  const shown = got === undefined ? '' : `, got ${JSON.stringify(got)?.slice(0, 80) ?? String(got)}`;
  throw new InvalidArgumentError(`${at}: ${rule}${shown}`);
}
