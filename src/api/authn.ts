/**
 * Authentication, the first link of the API's chain after the request guards: resolves the
 * request's credential to a Principal and runs the rest of the request inside its
 * {@link requestContext} (who, request id, source address), where authorization, the services and
 * the audit trail read it. A refused credential is a 401 at once; no credential is a 401 too unless
 * the route is public in the route-access table (health and readiness).
 */
import { randomUUID } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import { getConnInfo } from '@hono/node-server/conninfo';
import { UnauthenticatedError } from '../core/errors.js';
import { requestContext } from '../core/request-context.js';
import type { Authenticator } from '../services/identity/authenticator.js';
import { matchedRouteKey } from './matched-route.js';
import { ROUTE_ACCESS } from './route-access.js';

/** What a 401 tells the caller to do. */
const HOW_TO_AUTHENTICATE =
  'send "Authorization: Bearer <token>"; the admin token of `wharf up` is in $WHARF_HOME/credentials (the CLI reads it there, or WHARF_TOKEN)';

/** A caller's request id is kept when it is short and printable; otherwise a fresh one is made. */
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The authentication middleware over `authenticator`. */
export function authentication(authenticator: Authenticator): MiddlewareHandler {
  return async (c, next) => {
    const given = c.req.header('x-request-id');
    const requestId = given !== undefined && REQUEST_ID.test(given) ? given : randomUUID();
    c.header('x-request-id', requestId);
    let principal;
    try {
      principal = await authenticator.authenticate(c.req.header('authorization'));
    } catch (e) {
      if (e instanceof UnauthenticatedError) return unauthenticated(c, e.message);
      throw e;
    }
    if (principal === undefined) {
      const key = matchedRouteKey(c);
      if (key !== undefined && ROUTE_ACCESS[key]?.permission === 'public') return next();
      return unauthenticated(c, `this endpoint needs a credential: ${HOW_TO_AUTHENTICATE}`);
    }
    const sourceAddress = sourceAddressOf(c);
    return requestContext.run({ principal, requestId, sourceAddress }, () => next());
  };
}

function unauthenticated(c: Parameters<MiddlewareHandler>[0], message: string) {
  c.header('www-authenticate', 'Bearer realm="wharf"');
  return c.json({ error: { code: 'UNAUTHENTICATED', message } }, 401);
}

function sourceAddressOf(c: Parameters<MiddlewareHandler>[0]): string {
  try {
    return getConnInfo(c).remote.address ?? 'unknown';
  } catch {
    return 'unknown'; // not served by node (app.request in tests)
  }
}
