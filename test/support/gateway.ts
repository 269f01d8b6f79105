/**
 * Helpers for the gateway's tests: route-table builders, inference bodies, a load generator that
 * records every outcome, raw HTTP exchanges (for paths and bodies fetch would not send), a port
 * with nothing listening, a tiny controllable upstream on node:http, and the per-file fixtures that
 * start gateways and upstreams and stop them after the file's tests.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { once } from 'node:events';
import net, { type AddressInfo } from 'node:net';
import { after } from 'node:test';
import { READMISSION_FEATURES } from '../../src/demo/readmission.js';
import { GatewayServer, type GatewayServerOptions } from '../../src/gateway/gateway-server.js';
import type { Backend, Route, RouteTable, RouteTarget } from '../../src/protocol/route-table.js';
import { http } from './serving.js';
import { letTimePass } from './eventually.js';

/** Feature count of the demo readmission model. */
export const FEATURES = READMISSION_FEATURES.length;

/** A valid readmission inference body with `rows` distinct rows. */
export function inferBody(rows = 1, id?: string): string {
  const data: number[] = [];
  for (let r = 0; r < rows; r++) for (let f = 0; f < FEATURES; f++) data.push(((r * 7 + f * 3) % 11) / 10);
  return JSON.stringify({
    ...(id === undefined ? {} : { id }),
    inputs: [{ name: 'input', datatype: 'FP32', shape: [rows, FEATURES], data }],
  });
}

/** A target of revision `revision` with weight `weight` over `backends`. */
export function target(
  revision: number,
  weight: number,
  backends: readonly Backend[],
  model = 'readmission',
): RouteTarget {
  return { revision, weight, model: { name: model, version: '1' }, backends };
}

/** A route for (environment, deployment), with optional rollout rules (matches, sticky, mirror). */
export function route(
  environment: string,
  deployment: string,
  targets: readonly RouteTarget[],
  rules: Pick<Route, 'matches' | 'sticky' | 'mirror'> = {},
): Route {
  return { environment, deployment, targets, ...rules };
}

/** A table. */
export function table(version: number, routes: readonly Route[]): RouteTable {
  return { version, routes };
}

/** The outcome of one request in a {@link Load}. */
export interface Outcome {
  /** HTTP status, or 0 when the request failed without a response. */
  readonly status: number;
  readonly backend: string | null;
  readonly revision: string | null;
  readonly text: string;
  /** `performance.now()` when the request was sent. */
  readonly sentAt: number;
}

/** Sends one inference request to `url` and records the outcome; never throws. */
export async function inferOutcome(url: string, body = inferBody()): Promise<Outcome> {
  const sentAt = performance.now();
  try {
    const res = await http(url, { body, timeoutMs: 10_000 });
    return {
      status: res.status,
      backend: res.headers.get('x-wharf-backend'),
      revision: res.headers.get('x-wharf-revision'),
      text: res.text,
      sentAt,
    };
  } catch (err) {
    return { status: 0, backend: null, revision: null, text: String((err as Error).cause ?? err), sentAt };
  }
}

/** `concurrency` workers each sending requests back to back until {@link stop}. */
export class Load {
  readonly outcomes: Outcome[] = [];
  private stopped = false;
  private readonly workers: Promise<void>[];

  constructor(
    send: () => Promise<Outcome>,
    readonly concurrency: number,
  ) {
    this.workers = Array.from({ length: concurrency }, async () => {
      while (!this.stopped) this.outcomes.push(await send());
    });
  }

  /** Outcomes that are not 200. */
  failures(): Outcome[] {
    return this.outcomes.filter((o) => o.status !== 200);
  }

  /** Stops the workers after their current request; resolves with every outcome. */
  async stop(): Promise<Outcome[]> {
    this.stopped = true;
    await Promise.all(this.workers);
    return this.outcomes;
  }
}

/** Counts values (e.g. the backend of each outcome). */
export function countBy<T>(items: readonly T[], key: (item: T) => string | null): Map<string | null, number> {
  const counts = new Map<string | null, number>();
  for (const item of items) counts.set(key(item), (counts.get(key(item)) ?? 0) + 1);
  return counts;
}

/** A URL on 127.0.0.1 with nothing listening (a port that was just free). */
export async function deadUrl(): Promise<string> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}

/** A raw HTTP/1.1 exchange: the whole response text and its status (0 when none arrived). */
export interface RawExchange {
  readonly response: string;
  readonly status: number;
  /** How many chunks were written before the first response byte arrived. */
  readonly chunksBeforeResponse: number;
}

/** An open raw connection: write to it; `response` settles when the server closes it (bounded to 10 s). */
export interface RawConnection {
  write(text: string): void;
  /** Whether a response byte has arrived. */
  responded(): boolean;
  /** `performance.now()` when the first response byte arrived (undefined before). */
  respondedAt(): number | undefined;
  /** Writes so far. */
  writes(): number;
  readonly destroyed: () => boolean;
  readonly response: Promise<RawExchange>;
}

/** Opens a TCP connection to `baseUrl` for hand-written HTTP/1.1. */
export async function rawConnection(baseUrl: string): Promise<RawConnection> {
  const { hostname, port } = new URL(baseUrl);
  const socket = net.connect(Number(port), hostname);
  socket.setEncoding('latin1');
  let text = '';
  let sent = 0;
  let chunksBeforeResponse = -1;
  let firstByteAt: number | undefined;
  const response = new Promise<RawExchange>((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no complete response within 10 s: ${JSON.stringify(text)}`));
    }, 10_000);
    socket.on('data', (d: string) => {
      if (chunksBeforeResponse === -1) {
        chunksBeforeResponse = sent;
        firstByteAt = performance.now();
      }
      text += d;
    });
    socket.on('error', () => {}); // EPIPE/ECONNRESET after the server closed; the response is what counts
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ response: text, status: Number(/^HTTP\/1\.1 (\d{3}) /.exec(text)?.[1] ?? 0), chunksBeforeResponse });
    });
  });
  await once(socket, 'connect');
  return {
    write: (t) => {
      socket.write(t, 'latin1');
      sent++;
    },
    responded: () => chunksBeforeResponse !== -1,
    respondedAt: () => firstByteAt,
    writes: () => sent,
    destroyed: () => socket.destroyed,
    response,
  };
}

/**
 * Writes `head` then `chunks` (every `intervalMs`) on a fresh connection and collects the response
 * until the server closes the connection; stops sending once a response starts.
 */
export async function rawExchange(
  baseUrl: string,
  head: string,
  chunks: readonly string[] = [],
  intervalMs = 0,
): Promise<RawExchange> {
  const conn = await rawConnection(baseUrl);
  conn.write(head);
  for (const chunk of chunks) {
    if (conn.responded() || conn.destroyed()) break;
    if (intervalMs > 0) await letTimePass(intervalMs, 'a slow client: the server times how long the body takes');
    if (conn.responded() || conn.destroyed()) break;
    conn.write(chunk);
  }
  const ex = await conn.response;
  // chunksBeforeResponse counts the head as a write; report body chunks only.
  return { ...ex, chunksBeforeResponse: ex.chunksBeforeResponse === -1 ? -1 : ex.chunksBeforeResponse - 1 };
}

/** The body of a raw response (after the blank line), de-chunked when it is a single chunk. */
export function rawBody(response: string): string {
  const body = response.slice(response.indexOf('\r\n\r\n') + 4);
  const chunked = /^[0-9a-f]+\r\n([\s\S]*?)\r\n0\r\n\r\n$/i.exec(body);
  return chunked ? chunked[1]! : body;
}

/** A controllable upstream on node:http: `handler` answers each request; counts requests and open sockets. */
export class FakeUpstream {
  requests = 0;
  openSockets = 0;
  private readonly server: Server;

  constructor(private readonly handler: (req: IncomingMessage, res: ServerResponse) => void) {
    this.server = createServer((req, res) => {
      this.requests++;
      this.handler(req, res);
    });
    this.server.on('connection', (socket) => {
      this.openSockets++;
      socket.once('close', () => this.openSockets--);
    });
  }

  async start(): Promise<string> {
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    return this.url;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** What {@link gatewayFixtures} gives a test file. */
export interface GatewayFixtures {
  /** Starts a gateway on a free port (`shutdownGraceMs` as given to {@link gatewayFixtures} unless `options` say otherwise). */
  newGateway(options?: GatewayServerOptions): Promise<GatewayServer>;
  /** Has `upstream` stopped after the file's tests (after the gateways); returns it. */
  stopAfter<T extends FakeUpstream>(upstream: T): T;
}

/**
 * Gateways and upstreams that one test file starts, all stopped once its tests are over: call it
 * once at the file's top level (it registers an `after` hook there).
 */
export function gatewayFixtures(shutdownGraceMs = 1_000): GatewayFixtures {
  const gateways: GatewayServer[] = [];
  const upstreams: FakeUpstream[] = [];
  after(async () => {
    await Promise.all(gateways.map((g) => g.stop()));
    await Promise.all(upstreams.map((u) => u.stop()));
  });
  return {
    async newGateway(options = {}) {
      // Tests read x-wharf-backend (which replica answered), which gateways send only when asked.
      const g = new GatewayServer({ port: 0, shutdownGraceMs, debugHeaders: true, ...options });
      gateways.push(g);
      await g.start();
      return g;
    },
    stopAfter(upstream) {
      upstreams.push(upstream);
      return upstream;
    },
  };
}
