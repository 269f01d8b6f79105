/**
 * The rules a secret's name and data must meet, shared by the secrets service and the deployment
 * spec's `secretRef`s. Every message names the field and the rule, never a value: a secret's value
 * must not reach an error message (and through it a log or an API answer). Pure.
 */
import { InvalidArgumentError } from './errors.js';

/** An item's key: an environment-variable name. */
export const SECRET_KEY_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Largest value of one item, in UTF-8 bytes. */
export const MAX_SECRET_VALUE_BYTES = 64 * 1024;
/** Most items in one secret. */
export const MAX_SECRET_KEYS = 100;
const MAX_KEY_LENGTH = 253;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** Throws unless `name` is a DNS label (it also names the Kubernetes Secret). */
export function validateSecretName(name: unknown, field = 'name'): asserts name is string {
  if (typeof name !== 'string' || !DNS_LABEL.test(name))
    throw new InvalidArgumentError(
      `${field}: must be 1-63 lowercase letters, digits or '-', starting and ending with a letter or digit`,
    );
}

/** Throws unless `key` is a valid item key. The key (not a value) may be named. */
export function validateSecretKey(key: unknown, field: string): asserts key is string {
  if (typeof key !== 'string' || key.length > MAX_KEY_LENGTH || !SECRET_KEY_PATTERN.test(key))
    throw new InvalidArgumentError(
      `${field}: must match [A-Za-z_][A-Za-z0-9_]* (at most ${MAX_KEY_LENGTH} characters)`,
    );
}

/** Throws unless `data` is 1–100 items of valid keys and string values of at most 64 KiB. */
export function validateSecretData(data: unknown, field = 'data'): asserts data is Record<string, string> {
  if (typeof data !== 'object' || data === null || Array.isArray(data))
    throw new InvalidArgumentError(`${field}: must be an object of KEY: value strings`);
  const keys = Object.keys(data);
  if (keys.length === 0) throw new InvalidArgumentError(`${field}: must hold at least one key`);
  if (keys.length > MAX_SECRET_KEYS)
    throw new InvalidArgumentError(`${field}: at most ${MAX_SECRET_KEYS} keys, got ${keys.length}`);
  for (const key of keys) {
    const shown = SECRET_KEY_PATTERN.test(key) && key.length <= MAX_KEY_LENGTH ? `${field}.${key}` : `${field} key`;
    validateSecretKey(key, shown);
    const value: unknown = (data as Record<string, unknown>)[key];
    if (typeof value !== 'string') throw new InvalidArgumentError(`${shown}: must be a string`);
    const bytes = Buffer.byteLength(value, 'utf8');
    if (bytes > MAX_SECRET_VALUE_BYTES)
      throw new InvalidArgumentError(`${shown}: value is ${bytes} bytes; at most ${MAX_SECRET_VALUE_BYTES}`);
  }
}
