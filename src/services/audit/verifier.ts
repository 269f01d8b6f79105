/**
 * Verifies the audit trail as stored: the chain read in key order from the store, its head, and the
 * signed checkpoints from both the store and the checkpoint file (so rows deleted together with
 * their checkpoints in the database are still missed). The rules are `core/audit/verify.ts`; a
 * verification that passes is followed by a checkpoint of the head, which narrows what a later
 * truncation could remove unnoticed.
 */
import type { KeyObject } from 'node:crypto';
import { type AuditVerification, keyIdOf, verifyAuditChain } from '../../core/audit/verify.js';
import type { AuditEvent } from '../../core/resources/audit-event.js';
import { readAuditHead } from '../../store/audit-append.js';
import type { Store } from '../../store/store.js';
import { readCheckpointFile } from './checkpoint-file.js';
import type { AuditRecorder } from './recorder.js';

/** Events of the chain in key order, a page at a time. */
export async function* chainEvents(store: Store, pageSize = 500): AsyncGenerator<AuditEvent> {
  let next: string | undefined;
  do {
    const page = await store.auditEvents.list({ limit: pageSize, ...(next === undefined ? {} : { continue: next }) });
    yield* page.items;
    next = page.continue;
  } while (next !== undefined);
}

/** Every checkpoint stored in the database. */
async function storedCheckpoints(store: Store) {
  const all = [];
  let next: string | undefined;
  do {
    const page = await store.auditCheckpoints.list({ limit: 1000, ...(next === undefined ? {} : { continue: next }) });
    all.push(...page.items);
    next = page.continue;
  } while (next !== undefined);
  return all;
}

/** Reads and checks the whole trail. */
export async function verifyStoredAudit(
  store: Store,
  options: { checkpointFile: string; trustedKeys: ReadonlyMap<string, KeyObject> },
): Promise<AuditVerification> {
  // Head and checkpoints first: events written meanwhile only extend the chain past them.
  const head = await readAuditHead(store);
  const checkpoints = [...(await storedCheckpoints(store)), ...(await readCheckpointFile(options.checkpointFile))];
  const events = chainEvents(store);
  const bounded = head === undefined ? events : upTo(events, head.seq);
  return verifyAuditChain({ events: bounded, head, checkpoints, trustedKeys: options.trustedKeys });
}

/** Stops after event `seq` (events appended during the walk are not part of this verification). */
async function* upTo(events: AsyncIterable<AuditEvent>, seq: number): AsyncGenerator<AuditEvent> {
  for await (const e of events) {
    if (Number.isSafeInteger(e.seq) && e.seq > seq) return;
    yield e;
  }
}

/** The API's verification: check with the recorder's key, then checkpoint the head when it passed. */
export async function verifyAuditTrail(store: Store, recorder: AuditRecorder): Promise<AuditVerification> {
  const { publicKey, keyId } = recorder.signingKey;
  const result = await verifyStoredAudit(store, {
    checkpointFile: recorder.checkpointFile,
    trustedKeys: new Map([...recorder.trustedKeys.map((k) => [keyIdOf(k), k] as const), [keyId, publicKey]]),
  });
  if (result.ok) await recorder.checkpoint();
  return result;
}
