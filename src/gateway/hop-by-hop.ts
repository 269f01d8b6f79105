/**
 * Response headers that describe one connection rather than the message (RFC 9110 §7.6.1): a
 * proxy must not relay them, nor the headers that `Connection` names.
 */

/** Headers that are never forwarded. */
export const HOP_BY_HOP: readonly string[] = [
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'proxy-authenticate',
  'proxy-authorization',
];

/** Deletes the hop-by-hop headers from an upstream response's header object, in place. */
export function removeHopByHop(headers: Record<string, string | string[] | undefined>): void {
  const connection = headers.connection;
  for (const name of HOP_BY_HOP) if (headers[name] !== undefined) delete headers[name];
  if (typeof connection === 'string' && connection !== 'keep-alive' && connection !== 'close') {
    for (const token of connection.split(',')) delete headers[token.trim().toLowerCase()];
  }
}
