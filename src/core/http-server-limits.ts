/**
 * Bounds on the client connections of Wharf's HTTP servers (gateway, model server, API), so that
 * slow or idle clients cannot hold sockets for minutes:
 *
 * - `headersTimeoutMs`: the whole header block must arrive within it (slow-header clients get 408
 *   and are closed); `requestTimeoutMs`: the same for the whole request, body included.
 * - `keepAliveTimeoutMs`: an idle keep-alive connection is closed after it (node sends the matching
 *   `Keep-Alive: timeout=N` hint, which undici pools honour, so a pool never reuses a socket the
 *   server is closing).
 * - `maxConnections`: beyond it a new connection is answered `503` with `Retry-After` and closed,
 *   and `onRefused` is called (each server counts it in a metric). node's own `maxConnections`
 *   would only reset the socket, which a client cannot tell from a crash.
 * - Client errors answer a short text body: 431 for a header block over node's limit
 *   (`--max-http-header-size`, 16 KiB by default), 408 for the timeouts above, 400 otherwise
 *   (a malformed body framing, e.g. a `Transfer-Encoding` that does not end in `chunked`, too:
 *   node finds it after the handler started, but before anything was written).
 * - A connection closed after an answer the client has not finished sending to (a 413 on a
 *   1 GiB upload) lingers: the server half-closes, drops what still arrives, and destroys it at
 *   the latest {@link REFUSED_LINGER_MS} later. Destroying it at once, with unread bytes in the
 *   kernel's buffer, sends a reset that makes the client's kernel discard the answer it had not
 *   read yet, so the client sees "connection reset" instead of the 413.
 *
 * All of it is per connection (node checks the timeouts on a timer, every
 * {@link checkingIntervalMs}); nothing runs per request.
 */
import { maxHeaderSize, type Server, type ServerOptions } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';

/** The bounds; see the module comment. */
export interface ConnectionLimits {
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  keepAliveTimeoutMs: number;
  maxConnections: number;
}

/** How long a refused connection may stay half-open for its client to read the 503. */
const REFUSED_LINGER_MS = 1_000;

/**
 * node checks header and request timeouts every `connectionsCheckingInterval` (30 s by default, so
 * a 10 s timeout would close a socket after up to 40 s): a quarter of the headers timeout, within
 * 10 ms … 1 s. The check walks the open connections, once per interval, not per request.
 */
export function checkingIntervalMs(limits: Pick<ConnectionLimits, 'headersTimeoutMs'>): number {
  return Math.min(1_000, Math.max(10, Math.floor(limits.headersTimeoutMs / 4)));
}

/**
 * The accept queue asked for at `listen` (Linux caps it at `net.core.somaxconn`, 4096 by default).
 * node's default of 511 overflows under a burst of connections, and the kernel then drops the
 * final ACK of a handshake the client already counts as done: such a client waits for SYN-ACK
 * retransmissions (1 s, 3 s, 7 s …) before the server even sees it.
 */
export const LISTEN_BACKLOG = 4096;

/** Options for `createServer` that only take effect at creation. */
export function serverOptions(limits: ConnectionLimits): ServerOptions {
  return {
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    connectionsCheckingInterval: checkingIntervalMs(limits),
  };
}

/**
 * Applies the rest of `limits` to `server` (created with {@link serverOptions}, which set the
 * timeouts, and not yet listening): the connection cap and the answers to client errors.
 */
export function applyConnectionLimits(server: Server, limits: ConnectionLimits, onRefused: () => void): void {
  checkLimits(limits);
  // The cap goes in front of node's own connection handling, so a refused socket is never parsed
  // and no request on it reaches a handler.
  const handlers = server.listeners('connection') as ((socket: Socket) => void)[];
  server.removeAllListeners('connection');
  let open = 0;
  server.on('connection', (socket: Socket) => {
    if (open >= limits.maxConnections) {
      refuse(socket, limits.maxConnections);
      onRefused();
      return;
    }
    open++;
    socket.once('close', () => open--);
    // node closes a connection after a `connection: close` answer (and after a client error)
    // with destroySoon: make that a lingering close (see the module comment).
    socket.destroySoon = () => closeLingering(socket);
    for (const handle of handlers) handle.call(server, socket);
  });
  server.on('clientError', answerClientError);
}

function checkLimits(limits: ConnectionLimits): void {
  for (const [name, value] of Object.entries(limits)) {
    if (!Number.isSafeInteger(value) || value < 1)
      throw new Error(`connection limits: ${name} must be a positive integer, got ${String(value)}`);
  }
  if (limits.requestTimeoutMs < limits.headersTimeoutMs) {
    throw new Error(
      `connection limits: requestTimeoutMs (${limits.requestTimeoutMs}) must be at least headersTimeoutMs (${limits.headersTimeoutMs})`,
    );
  }
}

/** A short plain-text answer that closes the connection. */
function answer(status: string, text: string, extra = ''): string {
  return `HTTP/1.1 ${status}\r\nconnection: close\r\ncontent-type: text/plain; charset=utf-8\r\n${extra}content-length: ${Buffer.byteLength(text)}\r\n\r\n${text}`;
}

function refuse(socket: Socket, cap: number): void {
  socket.on('error', () => {});
  socket.end(
    answer(
      '503 Service Unavailable',
      `too many connections: this server takes at most ${cap}; retry later\n`,
      'retry-after: 1\r\n',
    ),
  );
  // Read what the client sends (and drop it) so that it gets the answer, not a reset; the socket
  // closes once the client closes its side, or after a short linger.
  socket.resume();
  const linger = setTimeout(() => socket.destroy(), REFUSED_LINGER_MS);
  linger.unref();
  socket.once('close', () => clearTimeout(linger));
}

/** Half-closes `socket`, drops what still arrives, and destroys it once the client closed or after a linger. */
function closeLingering(socket: Socket): void {
  if (socket.destroyed) return;
  socket.on('error', () => {});
  socket.end();
  socket.resume();
  const linger = setTimeout(() => socket.destroy(), REFUSED_LINGER_MS);
  linger.unref();
  socket.once('close', () => clearTimeout(linger));
}

function answerClientError(err: NodeJS.ErrnoException, socket: Duplex): void {
  // A response that already sent bytes on this socket would be corrupted by a second one: just
  // close. One whose handler has not written yet (the error is in the body's framing) gets the 400.
  const busy = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } | null })._httpMessage;
  if (
    err.code !== 'ECONNRESET' &&
    socket.writable &&
    (busy === undefined || busy === null || busy.headersSent === false)
  ) {
    socket.write(clientErrorAnswer(err.code));
  }
  (socket as Socket).destroySoon();
}

/** The answer to a client error with node's `code`. */
export function clientErrorAnswer(code: string | undefined): string {
  switch (code) {
    case 'HPE_HEADER_OVERFLOW':
      return answer(
        '431 Request Header Fields Too Large',
        `request header fields too large: the header block is over the server's limit of ${maxHeaderSize} bytes\n`,
      );
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return answer('408 Request Timeout', 'request timeout: the request did not arrive in time\n');
    default:
      return answer('400 Bad Request', `bad request: malformed HTTP (${code ?? 'unknown error'})\n`);
  }
}
