/**
 * Keeps a gateway fed with route tables: from a control plane's watch stream
 * ({@link WatchTableSource}) or from a fixed table or file ({@link StaticTableSource}).
 *
 * ## Wire format of the watch stream (what the control plane implements)
 *
 * ```
 * GET /api/v1/routes/watch           (the URL is configurable; extra headers, e.g. auth, too)
 * Accept: application/x-ndjson
 *
 * 200 OK
 * Content-Type: application/x-ndjson
 *
 * {"version":41,"routes":[{"environment":"production","deployment":"readmission","targets":[...]}]}\n
 * \n                                  ← heartbeat: an empty line, at least every 15 s
 * {"version":42,"routes":[...]}\n
 * ```
 *
 * - Every non-empty line is one complete {@link RouteTable} as JSON (see protocol/route-table.ts; rules in
 *   table-validation.ts). No diffs: a gateway that missed lines only needs the latest.
 * - The first line is the current table, sent at once; then a line per new table.
 * - `version` strictly increases across tables and across control-plane restarts and replicas
 *   (e.g. derived from the store's change sequence). A gateway ignores a table whose version is
 *   not above the one it has: stale replicas of the control plane cannot roll a gateway back.
 * - Empty lines are heartbeats. A connection that carries nothing for `idleTimeoutMs` (45 s by
 *   default) is considered dead and reopened.
 * - Any status other than 200 is an error; the gateway retries with backoff.
 *
 * The gateway never drops its table because the control plane is unreachable: the data plane keeps
 * serving with the last table it had, and reconnects with capped exponential backoff and jitter.
 */
import { readFile } from 'node:fs/promises';
import { Agent, request } from 'undici';
import type { RouteTable } from '../protocol/route-table.js';
import { parseRouteTable } from './table-validation.js';

/** What a table source feeds; a `GatewayServer` is one. */
export interface TableSink {
  setTable(table: RouteTable): void;
  readonly tableVersion: number | undefined;
}

/** Something that feeds a {@link TableSink} until stopped. */
export interface TableSource {
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** What happened on the watch connection; for logs. */
export type WatchEvent =
  | { kind: 'connected'; url: string }
  | { kind: 'applied'; version: number }
  | { kind: 'skipped'; version: number; current: number }
  | { kind: 'rejected'; error: Error }
  | { kind: 'disconnected'; error: Error; retryInMs: number };

/** Watch settings; every default is declared in {@link WATCH_DEFAULTS}. */
export interface WatchOptions {
  /** Full URL of the watch stream, e.g. http://control-plane:7070/api/v1/routes/watch */
  url: string;
  /** Extra request headers, e.g. `{ authorization: 'Bearer …' }`. */
  headers?: Record<string, string>;
  /** First reconnect delay; doubles per consecutive failure. */
  minBackoffMs?: number;
  /** Longest reconnect delay. */
  maxBackoffMs?: number;
  /** Time to connect and get response headers. */
  connectTimeoutMs?: number;
  /** Silence (no table, no heartbeat) after which the connection is reopened. */
  idleTimeoutMs?: number;
  /** Longest accepted line (one table). */
  maxLineBytes?: number;
  /** Called for every connection event (connected, applied, rejected, disconnected, …). */
  onEvent?: (event: WatchEvent) => void;
}

/** Watch defaults. */
export const WATCH_DEFAULTS = {
  minBackoffMs: 100,
  maxBackoffMs: 10_000,
  connectTimeoutMs: 5_000,
  idleTimeoutMs: 45_000,
  maxLineBytes: 64 * 1024 * 1024,
} as const;

/**
 * Follows a control plane's route watch stream and applies each newer table to `sink`.
 *
 * @example
 *   const source = new WatchTableSource(gateway, { url: 'http://127.0.0.1:7070/api/v1/routes/watch' });
 *   await source.start(); // returns at once; connecting happens in the background
 */
export class WatchTableSource implements TableSource {
  private readonly options: Required<Omit<WatchOptions, 'headers' | 'onEvent'>> &
    Pick<WatchOptions, 'headers' | 'onEvent'>;
  private readonly agent: Agent;
  private readonly abort = new AbortController();
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  /** Whether the current connection has delivered a valid table. */
  private gotTable = false;
  /** Whether a watch connection is open right now. */
  connected = false;
  /** The last connection or table error, if any since the last good table. */
  lastError: Error | undefined;

  constructor(
    private readonly sink: TableSink,
    options: WatchOptions,
  ) {
    this.options = { ...WATCH_DEFAULTS, ...options };
    this.agent = new Agent({ connectTimeout: this.options.connectTimeoutMs, connections: 1 });
  }

  /** Starts following the stream in the background. */
  start(): Promise<void> {
    this.loop ??= this.run();
    return Promise.resolve();
  }

  /** Closes the connection and stops reconnecting. The sink keeps its table. */
  async stop(): Promise<void> {
    this.abort.abort();
    this.wake?.();
    await this.loop;
    await this.agent.destroy().catch(() => undefined);
  }

  /** Ends a reconnect back-off now (e.g. the control plane just came back); no-op while connected. */
  reconnectNow(): void {
    if (!this.connected) this.wake?.();
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (!this.abort.signal.aborted) {
      this.gotTable = false;
      try {
        await this.follow();
        throw new Error('the control plane ended the watch stream');
      } catch (err) {
        this.connected = false;
        if (this.abort.signal.aborted) return;
        // A connection that delivered a table worked: start the backoff over.
        if (this.gotTable) failures = 0;
        const delay = backoff(failures++, this.options.minBackoffMs, this.options.maxBackoffMs);
        this.lastError = err as Error;
        this.emit({ kind: 'disconnected', error: err as Error, retryInMs: delay });
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, delay);
          this.wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
    }
  }

  /** One connection: applies tables until the stream ends or fails. */
  private async follow(): Promise<void> {
    const o = this.options;
    const { statusCode, body } = await request(o.url, {
      dispatcher: this.agent,
      signal: this.abort.signal,
      headers: { accept: 'application/x-ndjson', ...o.headers },
      headersTimeout: o.connectTimeoutMs,
      bodyTimeout: o.idleTimeoutMs,
    });
    if (statusCode !== 200) {
      const text = (await body.text().catch(() => '')).slice(0, 300);
      throw new Error(`the control plane answered ${statusCode} to the route watch: ${text}`);
    }
    this.connected = true;
    this.emit({ kind: 'connected', url: o.url });
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    for await (const chunk of body as AsyncIterable<Buffer>) {
      let start = 0;
      for (let nl = chunk.indexOf(10, start); nl !== -1; nl = chunk.indexOf(10, start)) {
        pending.push(chunk.subarray(start, nl));
        if (this.line(Buffer.concat(pending).toString('utf8'))) this.gotTable = true;
        pending = [];
        pendingBytes = 0;
        start = nl + 1;
      }
      if (start < chunk.length) {
        pendingBytes += chunk.length - start;
        if (pendingBytes > o.maxLineBytes) throw new Error(`a route table line is longer than ${o.maxLineBytes} bytes`);
        pending.push(chunk.subarray(start));
      }
    }
  }

  /** Handles one line; returns true when it carried a valid table (applied or not newer). */
  private line(text: string): boolean {
    if (text.trim() === '') return false;
    let table: RouteTable;
    try {
      table = parseRouteTable(JSON.parse(text) as unknown, 'watched route table');
    } catch (err) {
      this.reject(err as Error);
      return false;
    }
    const current = this.sink.tableVersion;
    if (current !== undefined && table.version <= current) {
      this.emit({ kind: 'skipped', version: table.version, current });
      return true;
    }
    try {
      this.sink.setTable(table);
    } catch (err) {
      this.reject(err as Error);
      return false;
    }
    this.lastError = undefined;
    this.emit({ kind: 'applied', version: table.version });
    return true;
  }

  private reject(error: Error): void {
    // A bad table is the control plane's bug; keep the current table and the connection.
    this.lastError = error;
    this.emit({ kind: 'rejected', error });
  }

  private emit(event: WatchEvent): void {
    try {
      this.options.onEvent?.(event);
    } catch {
      // A logging callback must not break the watch.
    }
  }
}

/** Applies one fixed table (given, or read from a JSON file) when started; for tests and `--routes file.json`. */
export class StaticTableSource implements TableSource {
  constructor(
    private readonly sink: TableSink,
    private readonly table: RouteTable | { file: string },
  ) {}

  /** Validates and applies the table; rejects with a message naming the file and field on bad input. */
  async start(): Promise<void> {
    if ('file' in this.table) {
      const { file } = this.table;
      let json: unknown;
      try {
        json = JSON.parse(await readFile(file, 'utf8')) as unknown;
      } catch (err) {
        throw new Error(`route table file ${file}: ${(err as Error).message}`, { cause: err });
      }
      this.sink.setTable(parseRouteTable(json, file));
    } else {
      this.sink.setTable(this.table);
    }
  }

  stop(): Promise<void> {
    return Promise.resolve();
  }
}

/** Capped exponential backoff with jitter: a delay in [½·d, d] where d = min(max, min·2^attempt). */
export function backoff(attempt: number, minMs: number, maxMs: number): number {
  const ceiling = Math.min(maxMs, minMs * 2 ** Math.min(attempt, 30));
  return Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
}
