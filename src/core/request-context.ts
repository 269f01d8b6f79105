/**
 * The ambient context of one API request: who is acting, its request id and where it came from.
 * The API's middleware enters it (`requestContext.run`) before the route; code below the API reads
 * it through {@link currentRequest} instead of threading the caller through every signature (the
 * audit trail, which records the actor in the same transaction as the change, is the main reader).
 * Work that no request started (controllers, timers) runs outside any context.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Principal } from './identity/principal.js';

/** What is known of the request being served. */
export interface RequestContext {
  readonly principal: Principal;
  /** The request's `x-request-id` (taken from the caller when well-formed, else generated). */
  readonly requestId: string;
  /** The client's address as the API's socket saw it. */
  readonly sourceAddress: string;
}

/** The store of the current request's context. */
export const requestContext = new AsyncLocalStorage<RequestContext>();

/** The request being served, or undefined outside one. */
export function currentRequest(): RequestContext | undefined {
  return requestContext.getStore();
}
