/**
 * Verifies an audit chain: every event at its position (no gap, no reordering), every hash
 * recomputed, every `prevHash` linked to the event before, the head matching the last event, and
 * every signed checkpoint both genuinely signed and still covered by the chain (a checkpoint beyond
 * the last event means the tail was deleted). Pure: it reads what it is given and reports the first
 * bad event and why; `services/audit/` feeds it from the store and the checkpoint file.
 */
import { createHash, type KeyObject, verify as verifySignature } from 'node:crypto';
import type { AuditCheckpoint, AuditEvent, AuditHead } from '../resources/audit-event.js';
import { auditEventHash, checkpointMessage, GENESIS_HASH } from './chain.js';

/** Why an event (or a checkpoint) is bad. */
export type AuditProblemReason =
  | 'hash-mismatch'
  | 'broken-link'
  | 'gap-or-reorder'
  | 'truncated'
  | 'head-mismatch'
  | 'checkpoint-mismatch'
  | 'bad-checkpoint-signature';

/** One thing wrong with the chain. */
export interface AuditProblem {
  /** The first event it concerns (for a checkpoint, the sequence it signs). */
  seq: number;
  reason: AuditProblemReason;
  message: string;
}

/** The verifier's answer. */
export interface AuditVerification {
  ok: boolean;
  /** Events read. */
  events: number;
  /** The last event's sequence and hash (0 and the genesis hash for an empty chain). */
  last: { seq: number; hash: string };
  /** Checkpoints with a good signature that were checked against the chain. */
  checkpoints: number;
  /** The first problem by sequence, when any. */
  firstProblem?: AuditProblem;
  /** Every problem found, by sequence (at most {@link MAX_PROBLEMS}). */
  problems: AuditProblem[];
}

/** Problems kept in one answer. */
export const MAX_PROBLEMS = 50;

/** A checkpoint signature key's id: hex SHA-256 of its raw 32-byte Ed25519 public key. */
export function keyIdOf(publicKey: KeyObject): string {
  const raw = publicKey.export({ format: 'der', type: 'spki' }).subarray(-32);
  return createHash('sha256').update(raw).digest('hex');
}

/** What {@link verifyAuditChain} reads. */
export interface AuditChainInput {
  /** Every stored event, in key (sequence) order. */
  events: AsyncIterable<AuditEvent> | Iterable<AuditEvent>;
  head: AuditHead | undefined;
  /** Checkpoints from every place they are kept (the store, the file); duplicates are fine. */
  checkpoints: readonly Omit<AuditCheckpoint, 'resourceVersion'>[];
  /** The public keys checkpoints may be signed with, by {@link keyIdOf}. */
  trustedKeys: ReadonlyMap<string, KeyObject>;
}

/** Whether a checkpoint's signature is genuine and by a trusted key; the reason when not. */
export function checkCheckpointSignature(
  checkpoint: Omit<AuditCheckpoint, 'resourceVersion'>,
  trustedKeys: ReadonlyMap<string, KeyObject>,
): string | undefined {
  const key = trustedKeys.get(checkpoint.keyId);
  if (key === undefined) return `signed by key ${checkpoint.keyId.slice(0, 16)}…, which is not this control plane's`;
  let good: boolean;
  try {
    good = verifySignature(null, checkpointMessage(checkpoint), key, Buffer.from(checkpoint.signature, 'base64'));
  } catch {
    good = false;
  }
  return good ? undefined : 'its signature does not verify';
}

/**
 * Walks the chain once, in order; memory stays bounded by the number of checkpoints.
 *
 * @example
 *   const result = await verifyAuditChain({ events, head, checkpoints, trustedKeys });
 *   if (!result.ok) console.log(result.firstProblem?.message); // "event 7: hash mismatch: …"
 */
export async function verifyAuditChain(input: AuditChainInput): Promise<AuditVerification> {
  const problems: AuditProblem[] = [];
  const report = (p: AuditProblem): void => {
    if (problems.length < MAX_PROBLEMS) problems.push(p);
  };

  // Only genuine checkpoints are evidence; a forged one is itself a problem.
  const genuine = new Map<number, Omit<AuditCheckpoint, 'resourceVersion'>[]>();
  const seen = new Set<string>();
  for (const c of input.checkpoints) {
    const id = `${c.seq}:${c.hash}:${c.time}:${c.signature}`;
    if (seen.has(id)) continue;
    seen.add(id);
    const bad = checkCheckpointSignature(c, input.trustedKeys);
    if (bad !== undefined) {
      report({ seq: c.seq, reason: 'bad-checkpoint-signature', message: `checkpoint of event ${c.seq}: ${bad}` });
      continue;
    }
    genuine.set(c.seq, [...(genuine.get(c.seq) ?? []), c]);
  }

  let expected = 1;
  let prevHash = GENESIS_HASH;
  let events = 0;
  for await (const event of input.events) {
    events += 1;
    if (event.seq !== expected) {
      const found = Number.isSafeInteger(event.seq) ? `event ${event.seq}` : 'a row without a valid seq';
      report({
        seq: expected,
        reason: 'gap-or-reorder',
        message: `event ${expected}: missing or out of order (found ${found} in its place)`,
      });
      // Resynchronise on what is stored, so one hole is reported once.
      if (Number.isSafeInteger(event.seq) && event.seq > expected) expected = event.seq;
    }
    const seq = expected;
    const recomputed = auditEventHash(event);
    if (recomputed !== event.hash) {
      report({
        seq,
        reason: 'hash-mismatch',
        message: `event ${seq}: hash mismatch: the stored content hashes to ${recomputed.slice(0, 12)}…, the event says ${String(event.hash).slice(0, 12)}… (edited)`,
      });
    } else if (event.prevHash !== prevHash) {
      report({
        seq,
        reason: 'broken-link',
        message: `event ${seq}: broken prev link: prevHash ${String(event.prevHash).slice(0, 12)}… is not the hash of event ${seq - 1} (${prevHash.slice(0, 12)}…)`,
      });
    }
    for (const c of genuine.get(seq) ?? []) {
      if (c.hash !== event.hash)
        report({
          seq,
          reason: 'checkpoint-mismatch',
          message: `event ${seq}: differs from the signed checkpoint of ${c.time} (hash ${c.hash.slice(0, 12)}…)`,
        });
    }
    prevHash = String(event.hash);
    expected = seq + 1;
  }
  const last = { seq: expected - 1, hash: prevHash };

  const beyond = [...genuine.keys()].filter((seq) => seq > last.seq).sort((a, b) => b - a);
  if (beyond.length > 0) {
    const top = beyond[0]!;
    report({
      seq: last.seq + 1,
      reason: 'truncated',
      message: `event ${last.seq + 1}: truncated: the chain ends at event ${last.seq} but a signed checkpoint covers event ${top} (events ${last.seq + 1}…${top} were deleted)`,
    });
  }
  const head = input.head;
  if (head === undefined ? last.seq !== 0 : head.seq !== last.seq || head.hash !== last.hash) {
    const at = head === undefined ? 'absent' : `event ${head.seq} (${head.hash.slice(0, 12)}…)`;
    report({
      seq: head !== undefined && head.seq > last.seq ? last.seq + 1 : Math.max(last.seq, 1),
      reason: head !== undefined && head.seq > last.seq ? 'truncated' : 'head-mismatch',
      message:
        head !== undefined && head.seq > last.seq
          ? `event ${last.seq + 1}: truncated: the head is at event ${head.seq} but the chain ends at event ${last.seq}`
          : `event ${last.seq}: the chain head is ${at}, not the last event`,
    });
  }
  problems.sort((a, b) => a.seq - b.seq);
  const checkpoints = [...genuine.values()].reduce((n, list) => n + list.length, 0);
  return {
    ok: problems.length === 0,
    events,
    last,
    checkpoints,
    problems,
    ...(problems[0] === undefined ? {} : { firstProblem: problems[0] }),
  };
}
