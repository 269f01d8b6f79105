/**
 * The audit trail's stored kinds: {@link AuditEvent} (append-only, one per audited API request,
 * keyed by its zero-padded sequence so key order is chain order), the chain's {@link AuditHead}
 * (the last sequence and hash, advanced in the same transaction as each event) and signed
 * {@link AuditCheckpoint}s (CloudTrail-digest style: a signature over a sequence and its hash, so
 * deleting the tail of the chain and rewinding the head is detected). How events are hashed is
 * `core/audit/chain.ts`; who writes them is the store (in the change's transaction) and
 * `services/audit/`.
 */
import { defineKind, NO_INDEX } from './define-kind.js';
import type { StoredFields } from './stored.js';
import { InvalidArgumentError } from '../errors.js';

/** How the audited request ended. */
export type AuditOutcome = 'success' | 'denied' | 'failed';

/** Who acted, as authentication resolved it (`anonymous`/`unauthenticated` when nobody did). */
export interface AuditActor {
  /** The principal's stable id (`user:…`, `sa:…`, `oidc:…`, `anonymous`, `unauthenticated`). */
  id: string;
  name: string;
  type: string;
}

/** What the request was about. */
export interface AuditResource {
  /** e.g. `deployment`, `model`, `secret`, `environment`. */
  kind: string;
  /** Its name, or null for a collection (a list, a create whose name is in the body). */
  name: string | null;
}

/** One audited request, as chained: every field but `hash` is covered by `hash`. */
export interface AuditEvent extends StoredFields {
  /** 1, 2, 3 …: gap-free position in the chain. */
  seq: number;
  /** ISO time the event was written. */
  time: string;
  actor: AuditActor;
  /** `<resource kind plural>.<verb>`, e.g. `deployments.create`, `auth.login`, `secrets.read`. */
  action: string;
  resource: AuditResource;
  environment: string | null;
  outcome: AuditOutcome;
  /**
   * The HTTP status of the answer; null when the event was written in the change's own
   * transaction, before the answer existed (the outcome is then `success`: the change committed).
   */
  status: number | null;
  requestId: string;
  sourceAddress: string;
  /** Method, path and a redacted excerpt of the body: never a secret value, password or token. */
  summary: string;
  /** The previous event's hash (64 zeros for the first event). */
  prevHash: string;
  /** Hex SHA-256 of the canonical JSON of this event without `hash` (see `core/audit/chain.ts`). */
  hash: string;
}

/** The chain's head: the last event's sequence and hash (absent before the first event). */
export interface AuditHead extends StoredFields {
  seq: number;
  hash: string;
}

/**
 * A signed statement "the chain had event `seq` with hash `hash` at `time`", kept in the store and
 * in `$WHARF_HOME/audit-checkpoints.jsonl` outside it.
 */
export interface AuditCheckpoint extends StoredFields {
  seq: number;
  hash: string;
  time: string;
  /** Hex SHA-256 of the raw Ed25519 public key that signed it. */
  keyId: string;
  /** Base64 Ed25519 signature over `checkpointMessage(seq, hash, time)`. */
  signature: string;
}

const SEQ_DIGITS = 12;

/** The zero-padded key of a sequence number: key order is numeric order. */
export function auditSeqKey(seq: number): string {
  if (!Number.isSafeInteger(seq) || seq < 1 || seq >= 10 ** SEQ_DIGITS)
    throw new InvalidArgumentError(`seq: must be an integer from 1 to ${10 ** SEQ_DIGITS - 1}, got ${seq}`);
  return String(seq).padStart(SEQ_DIGITS, '0');
}

/** The list filter of audit events: by environment (an indexed column) and by actor id. */
export interface AuditEventFilter {
  environment?: string;
  actor?: string;
}

/** Audit events in the store: keyed by sequence, indexed by environment and actor id, never updated. */
export const auditEventKind = defineKind<AuditEvent, number, AuditEventFilter>()({
  kind: 'AuditEvent',
  collection: 'auditEvents',
  appendOnly: true,
  key: (seq) => auditSeqKey(seq),
  idOfKey: (key) => Number(key),
  id: (o) => o.seq,
  index: (o) => ({ environment: o.environment, parent: o.actor.id }),
  filter: (f) => ({
    ...(f.environment === undefined ? {} : { environment: f.environment }),
    ...(f.actor === undefined ? {} : { parent: f.actor }),
  }),
});

/** The one key of the chain head. */
export const AUDIT_HEAD_KEY = 'head';

/** The chain head in the store: one object, key `head`. */
export const auditHeadKind = defineKind<AuditHead, typeof AUDIT_HEAD_KEY>()({
  kind: 'AuditHead',
  collection: 'auditHead',
  key: (id) => {
    if (id !== AUDIT_HEAD_KEY) throw new InvalidArgumentError(`id: the audit head is '${AUDIT_HEAD_KEY}'`);
    return id;
  },
  idOfKey: () => AUDIT_HEAD_KEY,
  id: () => AUDIT_HEAD_KEY,
  index: () => NO_INDEX,
  filter: () => ({}),
});

/** Checkpoints in the store: keyed by the sequence they sign, never updated. */
export const auditCheckpointKind = defineKind<AuditCheckpoint, number>()({
  kind: 'AuditCheckpoint',
  collection: 'auditCheckpoints',
  appendOnly: true,
  key: (seq) => auditSeqKey(seq),
  idOfKey: (key) => Number(key),
  id: (o) => o.seq,
  index: () => NO_INDEX,
  filter: () => ({}),
});
