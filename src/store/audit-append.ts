/**
 * Appends one event to the audit chain inside an open write transaction: reads the head, seals the
 * draft as the next event (`core/audit/chain.ts`), stores it and advances the head. The caller must
 * hold the transaction's write lock first (`WriteContext.nextSequence()` takes the `changes` counter
 * row), so the head read here is the committed one on PostgreSQL too and two transactions never
 * take the same sequence. The Kysely store calls it for the request's pending event in the first
 * write transaction of an audited request, and for an event written on its own.
 */
import { type AuditDraft, GENESIS_HASH, sealAuditEvent } from '../core/audit/chain.js';
import { NotFoundError } from '../core/errors.js';
import { AUDIT_HEAD_KEY, type AuditEvent, type AuditHead } from '../core/resources/audit-event.js';
import type { StoreCollections } from './store.js';

/** Reads the chain head, or undefined before the first event. */
export async function readAuditHead(tx: Pick<StoreCollections, 'auditHead'>): Promise<AuditHead | undefined> {
  try {
    return await tx.auditHead.get(AUDIT_HEAD_KEY);
  } catch (e) {
    if (e instanceof NotFoundError) return undefined;
    throw e;
  }
}

/** Seals `draft` as the next event, stores it and moves the head to it; returns the stored event. */
export async function appendAuditEvent(
  tx: Pick<StoreCollections, 'auditHead' | 'auditEvents'>,
  draft: AuditDraft,
  now: Date = new Date(),
): Promise<AuditEvent> {
  const head = await readAuditHead(tx);
  const sealed = sealAuditEvent(draft, {
    seq: (head?.seq ?? 0) + 1,
    prevHash: head?.hash ?? GENESIS_HASH,
    time: now.toISOString(),
  });
  const event = await tx.auditEvents.create(sealed);
  if (head === undefined) await tx.auditHead.create({ seq: event.seq, hash: event.hash });
  else await tx.auditHead.update({ ...head, seq: event.seq, hash: event.hash });
  return event;
}
