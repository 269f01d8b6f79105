/**
 * The ambient context of one API request: who is acting, its request id and where it came from.
 * The API's middleware enters it (`requestContext.run`) before the route; code below the API reads
 * it through {@link currentRequest} instead of threading the caller through every signature (the
 * audit trail, which records the actor in the same transaction as the change, is the main reader).
 * Work that no request started (controllers, timers) runs outside any context.
 *
 * The audit middleware (`api/audit.ts`) adds {@link RequestContext.audit}, the request's pending
 * {@link PendingAudit}: the store appends it to the audit chain inside the first write transaction
 * the request commits, so the change and its event commit together or not at all.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { AuditDraft } from './audit/chain.js';
import type { Principal } from './identity/principal.js';

/**
 * The audit event of the request being served, not yet written. `state` moves
 * `pending` → `writing` (a transaction carries it) → `written` (it committed); a transaction that
 * rolls back puts it back to `pending`, so the next one (or the middleware, after the route) writes
 * it. Only the store and `api/audit.ts` touch it.
 */
export interface PendingAudit {
  draft: AuditDraft;
  state: 'pending' | 'writing' | 'written';
  /** The sequence it got, once written. */
  seq?: number;
}

/** What is known of the request being served. */
export interface RequestContext {
  readonly principal: Principal;
  /** The request's `x-request-id` (taken from the caller when well-formed, else generated). */
  readonly requestId: string;
  /** The client's address as the API's socket saw it. */
  readonly sourceAddress: string;
  /** The request's audit event while it waits for a write transaction; absent for unaudited requests. */
  readonly audit?: PendingAudit;
}

/** The store of the current request's context. */
export const requestContext = new AsyncLocalStorage<RequestContext>();

/** The request being served, or undefined outside one. */
export function currentRequest(): RequestContext | undefined {
  return requestContext.getStore();
}

/** The current request's audit event when it still waits to be written, else undefined. */
export function pendingAudit(): PendingAudit | undefined {
  const audit = requestContext.getStore()?.audit;
  return audit?.state === 'pending' ? audit : undefined;
}
