/** Parsers for CLI option values: each rejects bad input with a message naming the rule. */
import { InvalidArgumentError } from 'commander';

/** Parses an integer in [min, max]. */
export function integer(min: number, max = Number.MAX_SAFE_INTEGER) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^-?\d+$/.test(value) || !Number.isSafeInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`must be an integer from ${min} to ${max}`);
    }
    return n;
  };
}

/** Host name syntax: dot-separated labels of letters, digits and inner hyphens. */
const DOMAIN = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i;

/** Parses a DNS domain (`localhost`, `apps.example.com`), lower-cased. */
export function domainName(value: string): string {
  if (value.length > 253 || !DOMAIN.test(value))
    throw new InvalidArgumentError('must be a domain name: dot-separated labels of letters, digits and hyphens');
  return value.toLowerCase();
}

/** Parses a number in [min, max]. */
export function decimal(min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || n < min || n > max) {
      throw new InvalidArgumentError(`must be a number from ${min} to ${max}`);
    }
    return n;
  };
}
