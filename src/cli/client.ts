/**
 * The CLI's HTTP client for the control plane API (`WHARF_URL`, default http://127.0.0.1:8080).
 * Any non-2xx answer becomes an ApiCallError carrying the server's own message, which the CLI
 * prints as is before exiting non-zero.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { Agent, fetch as undiciFetch } from 'undici';
import { credentialsPath, readCredentials, sessionPath } from '../server/credentials-file.js';

/** Where the API is; `WHARF_URL` overrides. */
export function apiBase(): string {
  return (process.env.WHARF_URL ?? 'http://127.0.0.1:8080').replace(/\/+$/, '');
}

/** `$WHARF_HOME`, default `./.wharf`. */
export function cliHome(): string {
  return resolve(process.env.WHARF_HOME ?? '.wharf');
}

/**
 * The token the CLI sends: `WHARF_TOKEN`, else the session of `wharf login` in
 * `$WHARF_HOME/cli-session`, else the one in `$WHARF_HOME/credentials` (default `./.wharf`, where
 * `wharf up` writes the admin token on first start). Undefined when none has one.
 */
export function cliToken(): string | undefined {
  const fromEnv = process.env.WHARF_TOKEN?.trim();
  if (fromEnv) return fromEnv;
  return readCredentials(sessionPath(cliHome()))?.token ?? readCredentials(credentialsPath(cliHome()))?.token;
}

/** What to do about a 401. */
const NOT_AUTHENTICATED_HINT =
  'run `wharf login`, set WHARF_TOKEN, or run the CLI where `wharf up` keeps its home (./.wharf or $WHARF_HOME) so it finds the credentials file';

/** A failed call, with the server's error code and message when it sent one. */
export class ApiCallError extends Error {
  override readonly name = 'ApiCallError';
  constructor(
    message: string,
    readonly status: number,
    readonly code: string,
  ) {
    super(message);
  }
}

/**
 * The CA the CLI trusts for an https `WHARF_URL`, besides the system's: `WHARF_CA_FILE`, else the one
 * `wharf up --tls auto` made (`$WHARF_HOME/tls/ca.pem`, default ./.wharf) when it exists.
 */
export function cliCaFile(): string | undefined {
  if (process.env.WHARF_CA_FILE) return process.env.WHARF_CA_FILE;
  const made = join(resolve(process.env.WHARF_HOME ?? '.wharf'), 'tls', 'ca.pem');
  return existsSync(made) ? made : undefined;
}

let tlsAgent: { file: string; agent: Agent } | undefined;

/** fetch, through an agent that trusts {@link cliCaFile} when the URL is https and there is one. */
function fetchFor(url: URL): typeof fetch {
  const file = url.protocol === 'https:' ? cliCaFile() : undefined;
  if (file === undefined) return fetch;
  if (tlsAgent?.file !== file) {
    let ca: string;
    try {
      ca = readFileSync(file, 'utf8');
    } catch (e) {
      throw new ApiCallError(
        `cannot read the CA file ${file} (WHARF_CA_FILE): ${(e as Error).message}`,
        0,
        'UNREACHABLE',
      );
    }
    tlsAgent = { file, agent: new Agent({ connect: { ca } }) };
  }
  const dispatcher = tlsAgent.agent;
  return ((input: URL, init: RequestInit) =>
    undiciFetch(input, { ...(init as object), dispatcher } as never)) as unknown as typeof fetch;
}

/** Options for {@link call}. */
export interface CallOptions {
  method?: string;
  json?: unknown;
  body?: Readable | Buffer;
  contentType?: string;
  query?: Record<string, string | number | boolean | undefined>;
  signal?: AbortSignal;
  /** Send this token instead of {@link cliToken}'s; `null`: send none. */
  token?: string | null;
}

/** Calls `path` under /api/v1 (or an absolute path starting with '/') and returns the response. */
export async function request(path: string, options: CallOptions = {}): Promise<Response> {
  const url = new URL(`${apiBase()}${path}`);
  for (const [k, v] of Object.entries(options.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
  const headers: Record<string, string> = {};
  const token = options.token === undefined ? cliToken() : (options.token ?? undefined);
  if (token !== undefined) headers.authorization = `Bearer ${token}`;
  let body: RequestInit['body'];
  if (options.json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(options.json);
  } else if (options.body) {
    headers['content-type'] = options.contentType ?? 'application/octet-stream';
    body = (Buffer.isBuffer(options.body) ? options.body : Readable.toWeb(options.body)) as RequestInit['body'];
  }
  let res: Response;
  try {
    res = await fetchFor(url)(url, {
      method: options.method ?? 'GET',
      headers,
      body,
      signal: options.signal,
      ...(body && !Buffer.isBuffer(body) ? { duplex: 'half' } : {}),
    } as RequestInit);
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
    throw new ApiCallError(
      `cannot reach the Wharf API at ${apiBase()} (${cause}); is \`wharf up\` running? (set WHARF_URL)`,
      0,
      'UNREACHABLE',
    );
  }
  if (!res.ok) {
    const text = await res.text();
    let message = `${res.status} ${res.statusText}`;
    let code = 'HTTP_' + res.status;
    try {
      const parsed = JSON.parse(text) as { error?: { code?: string; message?: string } | string };
      if (typeof parsed.error === 'string') message = parsed.error;
      else if (parsed.error?.message)
        ({ message, code = code } = { message: parsed.error.message, code: parsed.error.code });
    } catch {
      if (text) message = text.slice(0, 500);
    }
    if (res.status === 401)
      message = `${message} (${token === undefined ? 'no token: ' : ''}${NOT_AUTHENTICATED_HINT})`;
    throw new ApiCallError(message, res.status, code);
  }
  return res;
}

/** Calls and parses a JSON answer. */
export async function call<T>(path: string, options: CallOptions = {}): Promise<T> {
  const res = await request(path, options);
  return (res.status === 204 ? undefined : await res.json()) as T;
}
