/**
 * The audit trail's writer: events that no change carried (denied attempts, failures, secret reads,
 * logins) are appended on their own, and signed checkpoints are made every {@link
 * AuditRecorderOptions.checkpointEvery} events, every {@link AuditRecorderOptions.checkpointIntervalMs}
 * while events keep arriving, after a verification that passed, and at close. Each checkpoint is
 * stored in the database and appended to the checkpoint file outside it (`checkpoint-file.ts`).
 * Events of changes are appended by the store in the change's own transaction (see
 * `store/kysely-store.ts`); this class never sees those until it checkpoints them.
 */
import { type KeyObject, sign } from 'node:crypto';
import { open } from 'node:fs/promises';
import { type AuditDraft, checkpointMessage } from '../../core/audit/chain.js';
import type { AuditEvent } from '../../core/resources/audit-event.js';
import { readAuditHead } from '../../store/audit-append.js';
import { AlreadyExistsError } from '../../store/errors.js';
import type { Store } from '../../store/store.js';
import { appendCheckpointLine, type CheckpointRecord } from './checkpoint-file.js';
import type { AuditSigningKey } from './signing-key.js';

/** Settings of an {@link AuditRecorder}. */
export interface AuditRecorderOptions {
  signingKey: AuditSigningKey;
  /** `$WHARF_HOME/audit-checkpoints.jsonl`. */
  checkpointFile: string;
  /**
   * Public keys of earlier control planes whose checkpoints verification accepts besides this
   * one's (a restored home trusts the backed-up one's; see `services/backup/`). Default none.
   */
  trustedKeys?: readonly KeyObject[];
  /** A checkpoint after this many new events (default 100). */
  checkpointEvery?: number;
  /** And at most this long after an unsigned event (default 10 s; 0 = no timer). */
  checkpointIntervalMs?: number;
  log?: (line: string) => void;
}

/** Writes audit events that no change carried, and signs checkpoints. */
export class AuditRecorder {
  readonly #store: Store;
  readonly #options: Required<Omit<AuditRecorderOptions, 'log'>> & Pick<AuditRecorderOptions, 'log'>;
  #lastCheckpointSeq = 0;
  #sinceCheckpoint = 0;
  #timer: NodeJS.Timeout | undefined;
  // Checkpoints are made one at a time, in order.
  #queue: Promise<unknown> = Promise.resolve();

  constructor(store: Store, options: AuditRecorderOptions) {
    this.#store = store;
    this.#options = { checkpointEvery: 100, checkpointIntervalMs: 10_000, trustedKeys: [], ...options };
  }

  /** The key checkpoints are signed with. */
  get signingKey(): AuditSigningKey {
    return this.#options.signingKey;
  }

  /** Earlier control planes' checkpoint keys that verification also accepts. */
  get trustedKeys(): readonly KeyObject[] {
    return this.#options.trustedKeys;
  }

  /** The checkpoint file. */
  get checkpointFile(): string {
    return this.#options.checkpointFile;
  }

  /** Mends a torn last line of the checkpoint file, learns the last checkpoint, starts the timer. */
  async start(): Promise<void> {
    const file = await open(this.#options.checkpointFile, 'a+', 0o600);
    try {
      const { size } = await file.stat();
      if (size > 0) {
        const last = Buffer.alloc(1);
        await file.read(last, 0, 1, size - 1);
        if (last.toString() !== '\n') await file.appendFile('\n');
      }
    } finally {
      await file.close();
    }
    const page = await this.#store.auditCheckpoints.list({ limit: 1000 });
    let next = page.continue;
    let items = page.items;
    while (next !== undefined) {
      const more = await this.#store.auditCheckpoints.list({ limit: 1000, continue: next });
      items = more.items;
      next = more.continue;
    }
    this.#lastCheckpointSeq = items.at(-1)?.seq ?? 0;
    const interval = this.#options.checkpointIntervalMs;
    if (interval > 0) {
      this.#timer = setInterval(() => void this.checkpoint().catch((e: unknown) => this.#logError(e)), interval);
      this.#timer.unref();
    }
  }

  /** Appends `draft` as an event of its own (the request wrote nothing that could carry it). */
  async record(draft: AuditDraft): Promise<AuditEvent> {
    const event = await this.#store.appendAuditEvent(draft);
    this.noteWritten();
    return event;
  }

  /** Counts an event written by a change's transaction; checkpoints once enough have accumulated. */
  noteWritten(): void {
    this.#sinceCheckpoint += 1;
    if (this.#sinceCheckpoint >= this.#options.checkpointEvery)
      void this.checkpoint().catch((e: unknown) => this.#logError(e));
  }

  /**
   * Signs the current head when it is past the last checkpoint; stores the checkpoint and appends
   * it to the file. Returns it, or undefined when there was nothing new to sign.
   */
  checkpoint(): Promise<CheckpointRecord | undefined> {
    const run = this.#queue.then(() => this.#checkpointNow());
    this.#queue = run.catch(() => undefined);
    return run;
  }

  /** Stops the timer and signs what is not signed yet. */
  async close(): Promise<void> {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    await this.checkpoint().catch((e: unknown) => this.#logError(e));
  }

  async #checkpointNow(): Promise<CheckpointRecord | undefined> {
    const head = await readAuditHead(this.#store);
    if (head === undefined || head.seq <= this.#lastCheckpointSeq) return undefined;
    const { privateKey, keyId } = this.#options.signingKey;
    const unsigned = { seq: head.seq, hash: head.hash, time: new Date().toISOString() };
    const checkpoint: CheckpointRecord = {
      ...unsigned,
      keyId,
      signature: sign(null, checkpointMessage(unsigned), privateKey).toString('base64'),
    };
    try {
      await this.#store.auditCheckpoints.create(checkpoint);
    } catch (e) {
      // Another control-plane replica signed this head first: its checkpoint stands.
      if (!(e instanceof AlreadyExistsError)) throw e;
    }
    await appendCheckpointLine(this.#options.checkpointFile, checkpoint);
    this.#lastCheckpointSeq = head.seq;
    this.#sinceCheckpoint = 0;
    return checkpoint;
  }

  #logError(e: unknown): void {
    this.#options.log?.(`audit: checkpoint: ${(e as Error).message}`);
  }
}
