/**
 * The gateway's admin listener, for the control plane that supervises it (`wharf up` runs its
 * gateway as a process of its own): loopback only, and apart from the port users call, because it
 * tells which replica served what:
 *
 * ```
 * GET /assignments/<request id>   200 {"environment","deployment","revision"}  · 404 when unknown or forgotten
 * GET /ejections?since=<seq>      200 {"boot":"<id of this gateway process>","events":[EjectionEvent…]}
 * GET /healthz                    200 {"live":true}
 * POST /reconnect                 204: end the route watch's reconnect back-off (a control plane that
 *                                 adopted this gateway is up: no need to wait up to 10 s for the next try)
 * ```
 *
 * `boot` changes when the gateway process is restarted (its ejection `seq` starts over), so a
 * reader that kept a `seq` from an earlier process knows to ask from 0 again.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Assignment } from './assignment-log.js';
import type { EjectionEvent } from '../protocol/gateway-snapshot.js';

/** What the admin listener reads from; a `GatewayServer` is one. */
export interface AdminSource {
  assignment(requestId: string): Assignment | undefined;
  ejectionsSince(seq: number): EjectionEvent[];
}

/** The body of `GET /ejections`. */
export interface EjectionsAnswer {
  readonly boot: string;
  readonly events: readonly EjectionEvent[];
}

/** See the module comment. */
export class GatewayAdminServer {
  /** Identifies this process's ejection log. */
  readonly boot = randomUUID();
  private readonly http: Server;

  constructor(
    private readonly source: AdminSource,
    private readonly reconnect: () => void = () => undefined,
  ) {
    this.http = createServer({ keepAliveTimeout: 5_000, requestTimeout: 10_000 }, (req, res) => this.handle(req, res));
  }

  /** Listens on 127.0.0.1:`port` (0: a free one). */
  async start(port: number): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.http.once('error', reject);
      this.http.listen(port, '127.0.0.1', () => resolve());
    });
  }

  /** e.g. http://127.0.0.1:41234, once started. */
  get url(): string {
    return `http://127.0.0.1:${(this.http.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.http.close(() => resolve()));
    this.http.closeAllConnections();
    await closed;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://admin');
    if (url.pathname === '/reconnect') {
      if (req.method !== 'POST')
        return send(res, 405, { error: `${req.method} is not allowed; use POST` }, { allow: 'POST' });
      this.reconnect();
      res.writeHead(204).end();
      return;
    }
    if (req.method !== 'GET')
      return send(res, 405, { error: `${req.method} is not allowed; use GET` }, { allow: 'GET' });
    if (url.pathname === '/healthz') return send(res, 200, { live: true });
    if (url.pathname.startsWith('/assignments/')) {
      const id = decodeURIComponent(url.pathname.slice('/assignments/'.length));
      const assignment = this.source.assignment(id);
      return assignment === undefined
        ? send(res, 404, { error: `no assignment recorded for request ${JSON.stringify(id.slice(0, 128))}` })
        : send(res, 200, assignment);
    }
    if (url.pathname === '/ejections') {
      const since = Number(url.searchParams.get('since') ?? '0');
      if (!Number.isInteger(since) || since < 0)
        return send(res, 400, { error: 'since: must be a non-negative integer' });
      const answer: EjectionsAnswer = { boot: this.boot, events: this.source.ejectionsSince(since) };
      return send(res, 200, answer);
    }
    send(res, 404, { error: `no admin endpoint at ${JSON.stringify(url.pathname.slice(0, 200))}` });
  }
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}
