/**
 * The request filters of a route's access settings (route-pipeline.ts for the contract;
 * route-composer.ts gives them to the routes that have the settings):
 *
 * - {@link TokenFilter}: a protected route's bearer-token check (token-check.ts), answered 401 with
 *   `WWW-Authenticate: Bearer` or 403 (the protocol's health paths stay open); it runs first, so
 *   that per-token buckets key on a verified token;
 * - {@link RateLimitFilter}: the caller's token bucket (rate-limiter.ts), answered 429 with `Retry-After`.
 *
 * Both are one object per route of a table, holding what they need (the compiled token list, the
 * buckets, their messages), so a request allocates nothing here. Filters may run twice for one
 * request (a table swap before its first attempt): the token check is checked again (a token
 * revoked meanwhile is refused), the rate limit counts the request once.
 */
import { UnauthenticatedError } from '../core/errors.js';
import { RateLimitedError, TokenScopeError } from './errors.js';
import { OIP_PATHS } from '../protocol/oip-paths.js';
import type { RouteRateLimit } from '../protocol/route-table.js';
import type { TokenBuckets } from './rate-limiter.js';
import type { RouteAccess } from './route-composer.js';
import type { FilteredRequest, RequestFilter } from './route-pipeline.js';
import type { DenialReason, RouteTokenCheck } from './token-check.js';

/** Whether two limits are the same (a route's buckets carry over a table swap that keeps its limit). */
export function sameLimit(a: RouteRateLimit, b: RouteRateLimit): boolean {
  return a.requestsPerSecond === b.requestsPerSecond && a.burst === b.burst && a.per === b.per;
}
/**
 * A protected route: the request needs a bearer token listed on the route (token-check.ts), or is
 * answered 401 (with `WWW-Authenticate: Bearer`) or 403 (a valid token of another route). Checked
 * again when a table swap routes the request anew, so a token revoked meanwhile is refused.
 */
export class TokenFilter implements RequestFilter {
  private readonly messages: Readonly<Record<DenialReason, string>>;

  constructor(
    features: RouteAccess,
    private readonly check: RouteTokenCheck,
  ) {
    const what = `deployment '${features.deployment}' in environment '${features.environment}'`;
    const scopes = `infer:${features.environment} or infer:${features.environment}/${features.deployment}`;
    this.messages = {
      missing: `${what} requires a bearer token: send 'authorization: Bearer <token>' with a token of scope ${scopes}`,
      malformed: `the authorization header is not a Wharf bearer token ('Bearer wharf_<id>_<secret>')`,
      invalid: `the bearer token is not valid (unknown, revoked or mistyped)`,
      expired: `the bearer token has expired`,
      forbidden: `the bearer token is not scoped to ${what}: it needs scope ${scopes}`,
    };
  }

  admit(request: FilteredRequest): boolean {
    // Health stays open (the rule): a GET or HEAD of the protocol's live and ready paths.
    if (isHealthProbe(request)) return true;
    const verdict = this.check.check(request.authorization, Date.now());
    if (verdict.ok) {
      request.tokenId = verdict.tokenId;
      return true;
    }
    const { reason } = verdict;
    request.route.routeStats.authDenied[reason]++;
    const message = this.messages[reason];
    if (reason === 'forbidden') request.reject(new TokenScopeError(message), {});
    else
      request.reject(new UnauthenticatedError(message), {
        // RFC 6750 §3: no error code when no credential was sent; `invalid_token` otherwise.
        wwwAuthenticate: reason === 'missing' ? 'Bearer realm="wharf"' : 'Bearer realm="wharf", error="invalid_token"',
      });
    return false;
  }
}

/** `GET`/`HEAD` of `/v2/health/live` or `/v2/health/ready` (query string aside). */
function isHealthProbe(request: FilteredRequest): boolean {
  if (request.method !== 'GET' && request.method !== 'HEAD') return false;
  const q = request.path.indexOf('?');
  const path = q === -1 ? request.path : request.path.slice(0, q);
  return path === OIP_PATHS.live || path === OIP_PATHS.ready;
}

/**
 * A rate-limited route: each request takes a token from its caller's bucket (the verified token's
 * for `per: 'token'` when there is one, else the client address's), or is answered 429 with
 * `Retry-After`. Counted once per request, however often the filters run for it.
 */
export class RateLimitFilter implements RequestFilter {
  private readonly message: string;
  private readonly perToken: boolean;

  constructor(
    features: RouteAccess,
    private readonly buckets: TokenBuckets,
  ) {
    const limit = buckets.limit;
    this.perToken = limit.per === 'token';
    this.message = `rate limit of deployment '${features.deployment}' in environment '${features.environment}' exceeded: ${limit.requestsPerSecond} requests/s with bursts of ${limit.burst}, per ${limit.per === 'token' ? 'token' : 'client address'}`;
  }

  admit(request: FilteredRequest): boolean {
    if (request.rateCounted) return true;
    request.rateCounted = true;
    const tokenId = this.perToken ? request.tokenId : undefined;
    const wait = this.buckets.take(tokenId === undefined ? `a ${request.clientAddress}` : `t ${tokenId}`);
    if (wait === 0) return true;
    request.route.routeStats.rateLimited++;
    request.reject(new RateLimitedError(this.message), { retryAfter: wait });
    return false;
  }
}
