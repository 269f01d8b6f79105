/**
 * The control plane's side of a gateway's admin listener (admin-server.ts): which revision served
 * a request (A/B feedback) and the ejection events after a `seq` (deployment events). The admin
 * URL comes from a getter because the supervised gateway gets a new one when it is restarted.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { request } from 'undici';
import { UnavailableError } from '../core/errors.js';
import type { EjectionsAnswer } from './admin-server.js';
import type { Assignment } from './assignment-log.js';
import type { EjectionEvent } from '../protocol/gateway-snapshot.js';

/** Settings of {@link GatewayAdminClient}. */
export interface AdminClientOptions {
  /** Time for one call (default 2000 ms). */
  readonly timeoutMs?: number;
  /**
   * A file remembering which ejection events of which gateway process were already read (written
   * once the caller asks for events after them, i.e. has recorded them): a control plane that
   * adopts a running gateway then does not record its events a second time.
   */
  readonly ejectionsReadFile?: string;
}

/** What {@link AdminClientOptions.ejectionsReadFile} holds. */
interface ReadMark {
  readonly boot: string;
  readonly seq: number;
}

/** See the module comment. */
export class GatewayAdminClient {
  /** The `boot` of the gateway process last answered. */
  private boot: string | undefined;
  /** The last `seq` of `boot` handed to the caller (0: none yet; the caller's `seq` is then another process's). */
  private handed = 0;
  /** Events of `mark.boot` up to `mark.seq` were read by an earlier control plane. */
  private mark: ReadMark | undefined;
  private readonly timeoutMs: number;

  constructor(
    private readonly adminUrl: () => string | undefined,
    private readonly options: AdminClientOptions = {},
  ) {
    this.timeoutMs = options.timeoutMs ?? 2_000;
    if (options.ejectionsReadFile !== undefined) {
      try {
        this.mark = JSON.parse(readFileSync(options.ejectionsReadFile, 'utf8')) as ReadMark;
      } catch {
        // none yet
      }
    }
  }

  /** The recorded assignment of `requestId`; undefined when unknown. Throws UnavailableError when the gateway does not answer. */
  async assignment(requestId: string): Promise<Assignment | undefined> {
    const { status, body } = await this.get(`/assignments/${encodeURIComponent(requestId)}`);
    if (status === 404) return undefined;
    return body as Assignment;
  }

  /**
   * Ejection events after `seq`, oldest first. `seq` is the caller's position in the events it was
   * handed, which belong to one gateway process: a restarted process numbers its events from 1
   * again, so until this client has handed out events of the new process, it reads that one from
   * its start whatever `seq` says.
   */
  async ejectionsSince(seq: number): Promise<readonly EjectionEvent[]> {
    const since = this.boot === undefined ? seq : Math.min(seq, this.handed);
    // Asked for events after `since`: the ones up to it are recorded.
    if (this.boot !== undefined && since > 0) this.remember({ boot: this.boot, seq: since });
    let answer = (await this.get(`/ejections?since=${since}`)).body as EjectionsAnswer;
    if (this.boot !== undefined && answer.boot !== this.boot && since > 0)
      answer = (await this.get('/ejections?since=0')).body as EjectionsAnswer;
    if (answer.boot !== this.boot) {
      this.boot = answer.boot;
      this.handed = 0;
    }
    const mark = this.mark;
    const events =
      mark !== undefined && mark.boot === answer.boot ? answer.events.filter((e) => e.seq > mark.seq) : answer.events;
    if (events.length > 0) this.handed = events[events.length - 1]!.seq;
    return events;
  }

  private remember(mark: ReadMark): void {
    const file = this.options.ejectionsReadFile;
    if (file === undefined || (this.mark?.boot === mark.boot && this.mark.seq >= mark.seq)) return;
    this.mark = mark;
    try {
      writeFileSync(`${file}.tmp`, JSON.stringify(mark));
      renameSync(`${file}.tmp`, file);
    } catch {
      // at worst a later control plane records some events twice
    }
  }

  private async get(path: string): Promise<{ status: number; body: unknown }> {
    const base = this.adminUrl();
    if (base === undefined) throw new UnavailableError('the gateway is not running');
    const url = `${base}${path}`;
    let status: number;
    let text: string;
    try {
      const res = await request(url, {
        signal: AbortSignal.timeout(this.timeoutMs),
        headersTimeout: this.timeoutMs,
        bodyTimeout: this.timeoutMs,
      });
      status = res.statusCode;
      text = await res.body.text();
    } catch (error) {
      const e = error as Error & { code?: string };
      throw new UnavailableError(
        `the gateway's admin endpoint ${url}: ${e.name === 'TimeoutError' ? `no answer within ${this.timeoutMs} ms` : (e.code ?? e.message)}`,
        { cause: error },
      );
    }
    if (status !== 200 && status !== 404)
      throw new UnavailableError(`the gateway's admin endpoint ${url} answered ${status}: ${text.slice(0, 200)}`);
    return { status, body: JSON.parse(text) as unknown };
  }
}
