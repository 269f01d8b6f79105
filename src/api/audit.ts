/**
 * The audit middleware. Before the route it describes the request (`audit-actions.ts`) and, for an
 * audited one (a mutation, a secret read, a login), puts a pending event into the request context:
 * the store appends it in the first write transaction the request commits, so the change and its
 * event commit together. After the route, an event no transaction carried is written on its own —
 * for an audited request (a failure, a mutation that changed nothing, a read of a secret) and for
 * any denied attempt (401/403, reads included). Other reads are not audited.
 *
 * Two halves, because authentication answers 401 before anything after it runs: {@link
 * auditDenials} goes before authentication and records the 401s nothing else saw; {@link
 * auditRequests} goes after it, where the principal is known.
 */
import { randomUUID } from 'node:crypto';
import { getConnInfo } from '@hono/node-server/conninfo';
import type { Context, MiddlewareHandler } from 'hono';
import { type AuditDraft, auditSummary } from '../core/audit/chain.js';
import type { Principal } from '../core/identity/principal.js';
import { currentRequest, type PendingAudit, requestContext } from '../core/request-context.js';
import type { AuditOutcome } from '../core/resources/audit-event.js';
import type { AuditRecorder } from '../services/audit/recorder.js';
import { describeRequest } from './audit-actions.js';
import { STREAMED_BODY_ROUTES } from './request-guards.js';

/** The Hono context variable that says the request's audit is taken care of. */
const HANDLED = 'wharfAuditHandled';

/** The actor of a request that presented no valid credential. */
const UNAUTHENTICATED = { id: 'unauthenticated', name: 'unauthenticated', type: 'anonymous' } as const;

function outcomeOf(status: number): AuditOutcome {
  if (status === 401 || status === 403) return 'denied';
  return status < 400 ? 'success' : 'failed';
}

/** The pattern of the route that handles the request; undefined for a path no route has (404, 405). */
function routePattern(c: Context): string | undefined {
  // The matched handler that is not middleware (`ALL`/`*`) is the route.
  return [...c.req.matchedRoutes].reverse().find((r) => r.method !== 'ALL' && !r.path.endsWith('*'))?.path;
}

/** The path parameters of `pattern` in `path` (middleware runs before the route's own params exist). */
function paramsOf(pattern: string, path: string): Record<string, string> {
  const names = pattern.split('/');
  const values = path.split('/');
  const params: Record<string, string> = {};
  if (names.length !== values.length) return params;
  names.forEach((n, i) => {
    if (!n.startsWith(':')) return;
    try {
      params[n.slice(1).replace(/[{?].*$/, '')] = decodeURIComponent(values[i]!);
    } catch {
      params[n.slice(1).replace(/[{?].*$/, '')] = values[i]!;
    }
  });
  return params;
}

function sourceAddressOf(c: Context): string {
  try {
    return getConnInfo(c).remote.address ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

async function jsonBodyOf(c: Context): Promise<unknown> {
  if (!['POST', 'PUT', 'PATCH'].includes(c.req.method)) return undefined;
  if (!(c.req.header('content-type') ?? '').includes('json')) return undefined;
  // A streamed body (a model push, up to its own cap of a GiB) is the route's to read: parsing it
  // here would buffer all of it and leave the route a locked stream (a 500).
  if (STREAMED_BODY_ROUTES.some((r) => r.method === c.req.method && r.path.test(c.req.path))) return undefined;
  try {
    return await c.req.json(); // cached by Hono: the route reads the same parsed body
  } catch {
    return undefined;
  }
}

async function draftOf(c: Context, principal: Pick<Principal, 'id' | 'name' | 'type'>, answered = false) {
  const body = await jsonBodyOf(c);
  const pattern = routePattern(c);
  const described =
    pattern === undefined
      ? unmatched(c.req.method, c.req.path)
      : describeRequest(c.req.method, pattern, paramsOf(pattern, c.req.path), {
          queryEnvironment: c.req.query('environment'),
          body,
        });
  const ctx = currentRequest();
  const draft: AuditDraft = {
    actor: { id: principal.id, name: principal.name, type: principal.type },
    action: described.action,
    resource: described.resource,
    environment: described.environment,
    outcome: 'success',
    status: null,
    // Authentication answers its 401s with the request id it chose (read only once answered: reading
    // `c.res` before the route would make Hono's default response).
    requestId: ctx?.requestId ?? (answered ? c.res.headers.get('x-request-id') : null) ?? randomUUID(),
    sourceAddress: ctx?.sourceAddress ?? sourceAddressOf(c),
    summary: auditSummary(c.req.method, c.req.path, body),
  };
  return { draft, audited: described.audited };
}

/** A request for a path no route serves: audited as a mutation attempt (or a denial), by its path. */
function unmatched(method: string, path: string) {
  return {
    action: 'api.unmatched',
    resource: { kind: 'endpoint', name: path.slice(0, 200) },
    environment: null,
    audited: !['GET', 'HEAD', 'OPTIONS'].includes(method),
  };
}

/** Writes a finished request's event when no transaction did; never fails the answer. */
async function settle(
  recorder: AuditRecorder,
  pending: PendingAudit,
  status: number,
  audited: boolean,
  log: (line: string) => void,
): Promise<void> {
  if (audited && pending.state === 'written') {
    recorder.noteWritten();
    return;
  }
  const outcome = outcomeOf(status);
  if (!audited && outcome !== 'denied') return;
  pending.state = 'writing';
  try {
    const event = await recorder.record({ ...pending.draft, outcome, status });
    pending.state = 'written';
    pending.seq = event.seq;
  } catch (e) {
    pending.state = 'pending';
    log(`audit: could not record ${pending.draft.action} (${outcome}, ${status}): ${(e as Error).message}`);
  }
}

/** Options of the audit middlewares. */
export interface AuditMiddlewareOptions {
  log?: (line: string) => void;
}

const defaultLog = (line: string): void => void process.stderr.write(`wharf api: ${line}\n`);

/**
 * The main half, after authentication: the actor is `currentRequest().principal`. A request that
 * runs without a request context (a public route) carries nothing into its writes; its event, when
 * it has one, is written after the route.
 */
export function auditRequests(recorder: AuditRecorder, options: AuditMiddlewareOptions = {}): MiddlewareHandler {
  const log = options.log ?? defaultLog;
  return async (c, next) => {
    c.set(HANDLED as never, true as never);
    const ctx = currentRequest();
    const { draft, audited } = await draftOf(c, ctx?.principal ?? UNAUTHENTICATED);
    // An unaudited read carries nothing into its writes (hence `written`); it is recorded only if denied.
    const pending: PendingAudit = { draft, state: audited ? 'pending' : 'written' };
    if (ctx === undefined) {
      await next();
      if (audited) pending.state = 'pending';
    } else {
      await requestContext.run({ ...ctx, audit: pending }, next);
    }
    await settle(recorder, pending, c.res.status, audited, log);
  };
}

/** The outer half, before authentication: records the 401s (and 403s) that authentication answered itself. */
export function auditDenials(recorder: AuditRecorder, options: AuditMiddlewareOptions = {}): MiddlewareHandler {
  const log = options.log ?? defaultLog;
  return async (c, next) => {
    await next();
    if (c.get(HANDLED as never) === true) return;
    const status = c.res.status;
    if (status !== 401 && status !== 403) return;
    const { draft } = await draftOf(c, UNAUTHENTICATED, true);
    await settle(recorder, { draft, state: 'pending' }, status, false, log);
  };
}
