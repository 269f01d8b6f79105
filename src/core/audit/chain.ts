/**
 * The audit trail's hash chain, as pure functions: the canonical JSON an event is hashed over, the
 * event's hash (SHA-256 over everything but `hash`, `prevHash` included, so each event commits to
 * the whole chain before it), sealing a draft into the next event of the chain, and the message a
 * checkpoint signs. The store seals events in the change's transaction (`store/audit-append.ts`);
 * the verifier (`verify.ts`) recomputes the same hashes.
 */
import { createHash } from 'node:crypto';
import type { AuditCheckpoint, AuditEvent } from '../resources/audit-event.js';

/** The `prevHash` of the first event. */
export const GENESIS_HASH = '0'.repeat(64);

/** What an audited request knows before its event is written; the chain fields are added when sealed. */
export type AuditDraft = Pick<
  AuditEvent,
  'actor' | 'action' | 'resource' | 'environment' | 'outcome' | 'status' | 'requestId' | 'sourceAddress' | 'summary'
>;

/** An event as hashed: no store-owned field and no `hash`. */
export type HashedFields = Omit<AuditEvent, 'hash' | 'resourceVersion'>;

/**
 * JSON with object keys sorted at every level and no whitespace (RFC 8785's key order for the
 * values an event holds: strings, integers, booleans, null, arrays, plain objects). `undefined`
 * members are left out, as JSON.stringify does.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'number' && !Number.isFinite(value)) throw new TypeError('canonicalJson: non-finite number');
    return JSON.stringify(value) ?? 'null';
  }
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v === undefined ? null : v)).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

/** The fields of an event that its hash covers, in a fixed shape (extra fields are not hashed). */
export function hashedFields(event: HashedFields): HashedFields {
  const { seq, time, actor, action, resource, environment, outcome, status, requestId, sourceAddress, summary } = event;
  return {
    seq,
    time,
    actor: { id: actor.id, name: actor.name, type: actor.type },
    action,
    resource: { kind: resource.kind, name: resource.name },
    environment,
    outcome,
    status,
    requestId,
    sourceAddress,
    summary,
    prevHash: event.prevHash,
  };
}

/** Hex SHA-256 of the canonical JSON of the event's hashed fields. */
export function auditEventHash(event: HashedFields): string {
  return createHash('sha256')
    .update(canonicalJson(hashedFields(event)))
    .digest('hex');
}

/**
 * The next event of the chain: `draft` at position `seq` after an event whose hash is `prevHash`.
 *
 * @example
 *   const first = sealAuditEvent(draft, { seq: 1, prevHash: GENESIS_HASH, time: new Date().toISOString() });
 */
export function sealAuditEvent(
  draft: AuditDraft,
  at: { seq: number; prevHash: string; time: string },
): Omit<AuditEvent, 'resourceVersion'> {
  const fields: HashedFields = hashedFields({ ...draft, seq: at.seq, time: at.time, prevHash: at.prevHash });
  return { ...fields, hash: auditEventHash(fields) };
}

/** The bytes a checkpoint's signature covers: `wharf-audit-checkpoint:v1:<seq>:<hash>:<time>`. */
export function checkpointMessage(checkpoint: Pick<AuditCheckpoint, 'seq' | 'hash' | 'time'>): Buffer {
  return Buffer.from(`wharf-audit-checkpoint:v1:${checkpoint.seq}:${checkpoint.hash}:${checkpoint.time}`, 'utf8');
}

/** Fields of request bodies whose values never reach an audit summary. */
const SECRET_FIELD = /^(value|data|password|token|secret|key)$|(password|passphrase|token|secret|apikey|privatekey)$/i;

/** `[redacted]` in place of every value under a field named like a secret, at any depth. */
export function redactSecrets(value: unknown, depth = 0): unknown {
  if (depth > 8) return '…';
  if (Array.isArray(value)) return value.map((v) => redactSecrets(v, depth + 1));
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value as Record<string, unknown>).map(([k, v]) => [
      k,
      SECRET_FIELD.test(k) ? '[redacted]' : redactSecrets(v, depth + 1),
    ]),
  );
}

/** Longest summary kept; the rest is cut with `…`. */
export const SUMMARY_MAX_CHARS = 400;

/** `METHOD path` and, when there is one, the redacted body as JSON, cut to {@link SUMMARY_MAX_CHARS}. */
export function auditSummary(method: string, path: string, body?: unknown): string {
  const text = body === undefined ? `${method} ${path}` : `${method} ${path} ${JSON.stringify(redactSecrets(body))}`;
  return text.length > SUMMARY_MAX_CHARS ? `${text.slice(0, SUMMARY_MAX_CHARS - 1)}…` : text;
}
