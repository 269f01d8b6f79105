/**
 * The rules of a deployment's gateway-side access settings: `configuration.auth` (a protected
 * endpoint) and `configuration.rateLimit` (a token bucket per caller). Pure; every failure names
 * its field and the rule, like the rest of the spec (`core/deployment-spec.ts`).
 */
import type { EndpointAuthSpec, RateLimitSpec } from './resources/deployment-configuration.js';
import { allowOnly, fail, integer, numberIn, object } from './validation.js';

/** Keys allowed in `configuration.auth`. */
export const AUTH_FIELDS = ['required'] as const;
/** Keys allowed in `configuration.rateLimit`. */
export const RATE_LIMIT_FIELDS = ['requestsPerSecond', 'burst', 'per'] as const;
/** Highest `requestsPerSecond` and `burst` accepted: far above what one gateway serves. */
export const MAX_RATE = 1_000_000;
/** What `per` may be. */
export const RATE_LIMIT_KEYS = ['token', 'client'] as const;

/** Throws unless `value` is a valid `configuration.auth`. */
export function validateEndpointAuth(value: unknown, field = 'configuration.auth'): asserts value is EndpointAuthSpec {
  const auth = object(value, field);
  allowOnly(auth, field, AUTH_FIELDS);
  if (typeof auth.required !== 'boolean') fail(`${field}.required`, 'must be true or false', auth.required);
}

/** Throws unless `value` is a valid `configuration.rateLimit`. */
export function validateRateLimit(value: unknown, field = 'configuration.rateLimit'): asserts value is RateLimitSpec {
  const limit = object(value, field);
  allowOnly(limit, field, RATE_LIMIT_FIELDS);
  const rate = numberIn(limit.requestsPerSecond, `${field}.requestsPerSecond`, 0, MAX_RATE);
  if (rate <= 0) fail(`${field}.requestsPerSecond`, `must be a number above 0 and at most ${MAX_RATE}`, rate);
  if (limit.burst !== undefined) integer(limit.burst, `${field}.burst`, 1, MAX_RATE);
  if (limit.per !== undefined && !(RATE_LIMIT_KEYS as readonly unknown[]).includes(limit.per))
    fail(`${field}.per`, `must be one of ${RATE_LIMIT_KEYS.map((k) => `'${k}'`).join(', ')}`, limit.per);
}

/** `rateLimit` with its defaults filled in (`burst`: `ceil(requestsPerSecond)`, at least 1; `per`: `token`). */
export function resolveRateLimit(limit: RateLimitSpec): Required<RateLimitSpec> {
  return {
    requestsPerSecond: limit.requestsPerSecond,
    burst: limit.burst ?? Math.max(1, Math.ceil(limit.requestsPerSecond)),
    per: limit.per ?? 'token',
  };
}
