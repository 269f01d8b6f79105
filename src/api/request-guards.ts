/**
 * Guards every API request passes before its route sees it, so that hostile input is a 4xx naming
 * the rule rather than memory growth, a 500 or a stack trace:
 *
 * - a body-size cap enforced while the body streams (413 as soon as the limit is passed, without
 *   reading the rest): JSON routes get a small cap; routes that stream their body to disk (a model
 *   push) are listed in {@link STREAMED_BODY_ROUTES} and keep their own, larger cap;
 * - on a JSON body: nesting at most {@link MAX_JSON_DEPTH} levels (deeper values overflow the
 *   recursive validators), and no NUL character in any string or key (PostgreSQL's jsonb and text
 *   refuse `\u0000`, SQLite would store it: refused on both, so both stores behave the same);
 * - no NUL character in the path or the query either.
 */
import type { Context, MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { PayloadTooLargeError } from '../core/errors.js';
import { toApiError } from './errors.js';

/** The default cap on a JSON request body: far above any real spec, far below what hurts the process. */
export const DEFAULT_MAX_JSON_BODY_BYTES = 1024 * 1024;

/** The deepest a JSON body may nest (objects and arrays); real specs stay under ten. */
export const MAX_JSON_DEPTH = 64;

/** Routes whose body is streamed (to disk) by the route itself, under its own cap: model and bundle pushes. */
export const STREAMED_BODY_ROUTES: readonly { method: string; path: RegExp }[] = [
  { method: 'POST', path: /^\/api\/v1\/models\/[^/]+\/versions$/ },
  { method: 'POST', path: /^\/api\/v1\/bundles\/[^/]+\/versions$/ },
];

/** Limits of {@link requestGuards}. */
export interface RequestGuardOptions {
  /** Largest JSON (or other non-streamed) request body, in bytes; default {@link DEFAULT_MAX_JSON_BODY_BYTES}. */
  maxJsonBodyBytes?: number;
  /** Largest streamed body (a model push), in bytes: a declared Content-Length above it is refused at once. */
  maxStreamedBodyBytes?: number;
}

// A 413 `{"error": {"code": "PAYLOAD_TOO_LARGE", "message": "body: …", "field": "body"}}`, mapped as
// every API error is; the connection is closed, since the rest of the body is not wanted.
const tooLarge = (c: Context, limit: number, what: string) => {
  const refused = new PayloadTooLargeError(`body: larger than the limit of ${limit} bytes for ${what}`);
  const { status, body } = toApiError(refused);
  return c.json(body, status as ContentfulStatusCode, { connection: 'close' });
};

const invalid = (field: string, rule: string) => {
  const name = field.length > 100 ? `${field.slice(0, 100)}…` : field; // a field path is input too: keep errors short
  return { error: { code: 'INVALID_ARGUMENT', message: `${name}: ${rule}`, field: name } };
};

const NUL_RULE = 'must not contain the NUL character (\\u0000)';

/** The guards as one middleware; register it before any route. */
export function requestGuards(options: RequestGuardOptions = {}): MiddlewareHandler {
  const maxJson = options.maxJsonBodyBytes ?? DEFAULT_MAX_JSON_BODY_BYTES;
  // `bodyLimit` counts the bytes as they arrive and answers at the first chunk past the limit, so a
  // chunked body that never ends is refused without being read; a declared Content-Length above
  // the limit is refused before any byte is read. The connection is closed: the rest is not wanted.
  const limitJson = bodyLimit({
    maxSize: maxJson,
    onError: (c) => tooLarge(c, maxJson, 'this endpoint'),
  });
  return async (c, next) => {
    const url = new URL(c.req.url);
    if (/%00/i.test(url.pathname)) return c.json(invalid('path', NUL_RULE), 400);
    for (const [name, value] of url.searchParams) {
      if (value.includes('\0') || name.includes('\0')) return c.json(invalid(name.replaceAll('\0', ''), NUL_RULE), 400);
    }
    if (STREAMED_BODY_ROUTES.some((r) => r.method === c.req.method && r.path.test(url.pathname))) {
      const declared = Number(c.req.header('content-length'));
      const max = options.maxStreamedBodyBytes;
      if (max !== undefined && Number.isFinite(declared) && declared > max) return tooLarge(c, max, 'a model file');
      return next();
    }
    let withinLimit = false;
    const refused = await limitJson(c, async () => {
      withinLimit = true;
    });
    if (!withinLimit) return refused ?? undefined;
    if (isJson(c.req.header('content-type')) && c.req.raw.body !== null) {
      let value: unknown;
      try {
        value = await c.req.json();
      } catch {
        return next(); // malformed JSON: the route's validator answers its usual 400
      }
      const problem = jsonProblem(value);
      if (problem !== undefined) return c.json(invalid(problem.field, problem.rule), 400);
    }
    return next();
  };
}

function isJson(contentType: string | undefined): boolean {
  return contentType !== undefined && /^application\/([a-z-.]+\+)?json/i.test(contentType);
}

/**
 * The first rule a parsed JSON value breaks (too deep, a NUL character), with the field where, or
 * undefined. Stops at {@link MAX_JSON_DEPTH}, so it never recurses deeper than that itself.
 */
export function jsonProblem(value: unknown, field = 'body', depth = 0): { field: string; rule: string } | undefined {
  if (typeof value === 'string') return value.includes('\0') ? { field, rule: NUL_RULE } : undefined;
  if (typeof value !== 'object' || value === null) return undefined;
  if (depth >= MAX_JSON_DEPTH)
    return { field, rule: `must not nest deeper than ${MAX_JSON_DEPTH} levels of objects and arrays` };
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i += 1) {
      const problem = jsonProblem(value[i], `${field}[${i}]`, depth + 1);
      if (problem !== undefined) return problem;
    }
    return undefined;
  }
  for (const [key, item] of Object.entries(value)) {
    const at = field === 'body' ? key : `${field}.${key}`;
    if (key.includes('\0')) return { field: at.replaceAll('\0', ''), rule: `${NUL_RULE} in a key` };
    const problem = jsonProblem(item, at, depth + 1);
    if (problem !== undefined) return problem;
  }
  return undefined;
}
