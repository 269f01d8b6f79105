/**
 * The control plane's REST API (`/api/v1`), on Hono with zod-openapi so every request is validated by
 * the schemas that also produce `/api/v1/openapi.json`. Errors are mapped in one place (`onError`,
 * and the validation hook) to `{"error": {"code", "message", "field"?}}`: never a stack trace.
 */
import { OpenAPIHono } from '@hono/zod-openapi';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { MethodNotAllowedError } from '../core/errors.js';
import { WHARF_VERSION } from '../core/version.js';
import { fromZodError, toApiError } from './errors.js';
import { allowedMethods } from './method-not-allowed.js';
import { type RequestGuardOptions, requestGuards } from './request-guards.js';
import type { Authenticator } from '../services/identity/authenticator.js';
import type { Authorizer } from '../services/access/authorizer.js';
import { authentication } from './authn.js';
import type { AuditRecorder } from '../services/audit/recorder.js';
import { auditDenials, auditRequests } from './audit.js';
import { authorize } from './authorize.js';

/** Something that says whether the control plane can serve (store reachable, controllers started). */
export type ReadinessCheck = () => Promise<{ ready: boolean; reason?: string }>;

/** Creates the app with the cross-cutting endpoints; areas add their routes with `register*` functions. */
export function createApp(options: {
  readiness: ReadinessCheck;
  metrics: () => Promise<{ contentType: string; body: string }>;
  log?: (e: unknown) => void;
  limits?: RequestGuardOptions;
  /** Who is calling (see authn.ts). */
  authenticator: Authenticator;
  /** The audit trail's writer; without it nothing is audited (see audit.ts). */
  auditRecorder?: AuditRecorder;
  /**
   * What each caller may do (see authorize.ts). Only where every caller is the anonymous admin
   * (`Authenticator.none()`) may it be left out.
   */
  authorizer?: Authorizer;
}): OpenAPIHono {
  if (options.authorizer === undefined && options.authenticator.mode !== 'none')
    throw new Error('an API that authenticates callers needs an authorizer');
  const log =
    options.log ??
    ((e: unknown) => process.stderr.write(`wharf api: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`));
  const app = new OpenAPIHono({
    defaultHook: (result, c) => {
      if (!result.success)
        return c.json(
          fromZodError(result.error, result.target === 'json' ? 'body' : result.target === 'param' ? 'path' : 'query'),
          400,
        );
      return undefined;
    },
  });

  app.onError((err, c) => {
    if (err instanceof HTTPException) {
      // Hono's own 4xx, e.g. malformed JSON in a body.
      const status = err.status as ContentfulStatusCode;
      return c.json(
        {
          error: {
            code: status === 400 ? 'INVALID_ARGUMENT' : `HTTP_${status}`,
            message: `body: ${err.message}`,
            field: 'body', // the body as a whole is what is wrong (it does not parse)
          },
        },
        status,
      );
    }
    const { status, body, headers } = toApiError(err, log);
    return c.json(body, status as ContentfulStatusCode, headers);
  });
  app.notFound((c) => {
    // A path that exists under other methods is a 405 saying which (RFC 9110 §15.5.6), not a 404.
    const allow = allowedMethods(app.routes, c.req.path);
    if (allow.length > 0) {
      const refused = new MethodNotAllowedError(
        `method ${c.req.method} is not allowed on ${c.req.path}; allowed: ${allow.join(', ')}`,
        allow,
      );
      const { status, body, headers } = toApiError(refused, log);
      return c.json(body, status as ContentfulStatusCode, headers);
    }
    return c.json({ error: { code: 'NOT_FOUND', message: `no such endpoint: ${c.req.method} ${c.req.path}` } }, 404);
  });
  // Before every route: body-size caps, JSON depth and NUL checks (see request-guards.ts).
  app.use('*', requestGuards(options.limits));
  // Then who is calling: every route but health and readiness needs a credential. The audit trail
  // wraps it: the outer half records the 401s it answers, the inner half every audited request.
  const recorder = options.auditRecorder;
  if (recorder !== undefined) app.use('*', auditDenials(recorder));
  app.use('*', authentication(options.authenticator));
  if (recorder !== undefined) app.use('*', auditRequests(recorder));
  // Then what the caller may do here: the route's permission in its environment (route-access.ts).
  if (options.authorizer !== undefined) app.use('*', authorize(options.authorizer));

  app.get('/healthz', (c) => c.json({ live: true }));
  app.get('/readyz', async (c) => {
    const r = await options.readiness();
    return c.json(r, r.ready ? 200 : 503);
  });
  app.get('/metrics', async (c) => {
    const m = await options.metrics();
    return c.body(m.body, 200, { 'content-type': m.contentType });
  });
  app.doc('/api/v1/openapi.json', {
    openapi: '3.0.3',
    info: { title: 'Wharf control plane API', version: WHARF_VERSION },
  });
  return app;
}
