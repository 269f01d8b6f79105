/**
 * The request headers an application's replica gets: every end-to-end header of the client's
 * request, in the order sent, minus what describes the client's connection to the gateway
 * (hop-by-hop headers and those that `Connection` names), `Host` (the replica's connection names its
 * own), the body framing (`Content-Length` and `Transfer-Encoding`: the gateway frames the body it
 * sends), `Expect` (the gateway answered it), the `Authorization` of a protected route (it is the
 * gateway's token, not the application's) and any `X-Forwarded-*` or `X-Request-Id` the client sent;
 * plus what a reverse proxy adds:
 *
 * - `X-Request-Id`: the client's, or one the gateway made;
 * - `X-Forwarded-For`: the client's list with the client's address appended (the list is passed
 *   on, as nginx's `$proxy_add_x_forwarded_for` does; the last entry is the one the gateway saw);
 * - `X-Forwarded-Proto`: `https` when the client's connection is TLS, else `http`;
 * - `X-Forwarded-Host`: the client's `Host`;
 * - `X-Forwarded-Prefix`: the route prefix that was stripped (`/<environment>/<deployment>`), only
 *   for requests routed by path, so an application can build its own absolute links.
 *
 * Model routes forward a fixed short list instead ({@link FORWARDED_HEADERS}): replicas that run
 * Wharf's model server read nothing else.
 */
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { HOP_BY_HOP } from './hop-by-hop.js';

/** Request headers passed to model replicas (lower case). Everything else stays at the gateway. */
export const FORWARDED_HEADERS: readonly string[] = [
  'content-type',
  'accept',
  'accept-encoding',
  'traceparent',
  'tracestate',
];

/** Lower-case names never passed to an application as the client sent them. */
const DROPPED = new Set([
  ...HOP_BY_HOP,
  'host',
  'content-length',
  'expect',
  'x-request-id',
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-forwarded-host',
  'x-forwarded-prefix',
]);

/** What the application headers depend on besides the request. */
export interface ForwardingContext {
  readonly requestId: string;
  /** The route's token check consumes `Authorization`. */
  readonly protectedRoute: boolean;
  /** The stripped route prefix, or undefined for a request routed by host. */
  readonly prefix: string | undefined;
}

/**
 * The flat header list (`[name, value, name, value, …]`) for an application's replica; see the
 * module comment. Reads `req.rawHeaders`, so repeated headers (`Cookie`, `Accept`) stay as sent.
 */
export function applicationHeaders(req: IncomingMessage, context: ForwardingContext): string[] {
  const raw = req.rawHeaders;
  const connection = req.headers.connection;
  const named = connection === undefined ? undefined : new Set(connection.toLowerCase().split(/\s*,\s*/));
  const headers = ['x-request-id', context.requestId];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const lower = name.toLowerCase();
    if (DROPPED.has(lower) || named?.has(lower) === true) continue;
    if (context.protectedRoute && lower === 'authorization') continue;
    headers.push(name, raw[i + 1]!);
  }
  const client = req.socket.remoteAddress ?? '';
  const before = req.headers['x-forwarded-for'];
  headers.push('x-forwarded-for', before === undefined || before === '' ? client : `${before}, ${client}`);
  headers.push('x-forwarded-proto', (req.socket as Partial<TLSSocket>).encrypted === true ? 'https' : 'http');
  const host = req.headers.host;
  if (host !== undefined) headers.push('x-forwarded-host', host);
  if (context.prefix !== undefined) headers.push('x-forwarded-prefix', context.prefix);
  return headers;
}
