/**
 * What every route file of the API declares the same way: error responses for the OpenAPI
 * document, a JSON body of any shape, a validated JSON request body, and who is acting.
 */
import { z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { ErrorBody } from './schemas.js';

const DESCRIPTIONS: Record<number, string> = {
  400: 'Invalid input',
  403: 'Not allowed',
  404: 'Not found',
  409: 'Conflict',
};

/** OpenAPI error responses for the given statuses, all with the API's error body. */
export function errorResponses(...codes: number[]) {
  // Untyped entries on purpose, as the route files always built them: the result is loosely typed,
  // which keeps Hono from narrowing each route's typed responses to the statuses listed here.
  const entries: unknown[][] = codes.map((code) => [
    code,
    { description: DESCRIPTIONS[code] ?? 'Error', content: { 'application/json': { schema: ErrorBody } } },
  ]);
  return Object.fromEntries(entries);
}

/** A JSON response whose schema the OpenAPI document leaves open (documents returned as stored). */
export const anyJson = { content: { 'application/json': { schema: z.any() } } };

/** A required JSON request body validated by `schema`. */
export const jsonBody = <T extends z.ZodType>(schema: T) => ({
  body: { content: { 'application/json': { schema } }, required: true },
});

/** Who is acting: from the header until authentication exists. */
export const actorOf = (c: Context): string => c.req.header('x-wharf-actor') ?? 'anonymous';
