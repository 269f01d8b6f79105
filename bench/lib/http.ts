/**
 * Small HTTP client helpers for benchmark setup: a free loopback port, a readiness probe and one
 * verification request. The measured traffic itself comes from wrk, never from these.
 */
import { createServer } from 'node:net';

/**
 * Returns a TCP port that was free on 127.0.0.1 a moment ago (bind to port 0, read it, close).
 * Another process could take it before the caller binds; on loopback in a benchmark that risk is accepted.
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error('could not read the bound port'))));
    });
  });
}

/** GETs `url` and returns the status, or `undefined` when nothing answered in time (not listening yet). */
export async function httpGetStatus(url: string, timeoutMs: number): Promise<number | undefined> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    await res.arrayBuffer(); // Drain so the connection is released.
    return res.status;
  } catch {
    return undefined;
  }
}

/** The answer to one verification request. */
export interface JsonResponse {
  status: number;
  /** The raw body, for error messages and for its size. */
  text: string;
  /** The parsed body, or `undefined` when it is not JSON. */
  json: unknown;
}

/** POSTs a JSON body and reads the whole answer. Throws only when no HTTP answer arrived. */
export async function postJson(
  url: string,
  body: string,
  timeoutMs = 10_000,
  headers: Readonly<Record<string, string>> = {},
): Promise<JsonResponse> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, text, json };
}
