/**
 * What every route file of the API declares the same way: error responses for the OpenAPI
 * document, a JSON response body with its schema, a validated JSON request body, and who is acting.
 */
import type { Context } from 'hono';
import type { z } from 'zod';
import { currentRequest } from '../core/request-context.js';
import type { ApiErrorBody } from './errors.js';
import { ErrorBody } from './schemas.js';

const DESCRIPTIONS: Record<number, string> = {
  400: 'Invalid input',
  403: 'Not allowed',
  404: 'Not found',
  409: 'Conflict',
  413: 'Request body too large',
  503: 'The store cannot be reached right now (Retry-After says when to try again)',
};

/** The document's error body is the one `toApiError` builds. */
const _sameErrorBody: [z.infer<typeof ErrorBody>, ApiErrorBody] extends [ApiErrorBody, z.infer<typeof ErrorBody>]
  ? true
  : never = true;

/**
 * OpenAPI error responses for the given statuses, all with the API's error body. Every route
 * reads or writes the store, so 503 (an unreachable store) is always among them.
 */
export function errorResponses(...codes: number[]) {
  // Untyped entries on purpose, as the route files always built them: the result is loosely typed,
  // which keeps Hono from narrowing each route's typed responses to the statuses listed here.
  const entries: unknown[][] = [...new Set([...codes, 503])].map((code) => [
    code,
    { description: DESCRIPTIONS[code] ?? 'Error', content: { 'application/json': { schema: ErrorBody } } },
  ]);
  return Object.fromEntries(entries);
}

/** The 413 of a route with a request body (see request-guards.ts). */
export const tooLarge = errorResponses(413);

/** A JSON response described by `schema` (from `response-schemas.ts`). */
export const json = <T extends z.ZodType>(description: string, schema: T) => ({
  description,
  content: { 'application/json': { schema } },
});

/** A required JSON request body validated by `schema`. */
export const jsonBody = <T extends z.ZodType>(schema: T) => ({
  body: { content: { 'application/json': { schema } }, required: true },
});

/** Who is acting, by name: the authenticated principal (authn.ts), for records people read. */
export const actorOf = (_c: Context): string => currentRequest()?.principal.name ?? 'anonymous';
