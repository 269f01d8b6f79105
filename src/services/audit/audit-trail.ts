/**
 * The audit trail as the API uses it: list, verify and export over one store and its recorder, so
 * that the API (which may not import the store) holds one object.
 */
import type { AuditVerification } from '../../core/audit/verify.js';
import type { Store } from '../../store/store.js';
import { type AuditListFilter, type AuditPage, exportAuditJsonLines, listAuditEvents } from './audit-query.js';
import type { AuditRecorder } from './recorder.js';
import { verifyAuditTrail } from './verifier.js';

/** Reading and checking the trail. */
export class AuditTrail {
  constructor(
    private readonly store: Store,
    /** Writes events no change carried, and signs checkpoints (the API's middleware uses it). */
    readonly recorder: AuditRecorder,
  ) {}

  /** A filtered page, oldest first. */
  list(filter: AuditListFilter): Promise<AuditPage> {
    return listAuditEvents(this.store, filter);
  }

  /** Verifies the chain; a pass is followed by a checkpoint of its head. */
  verify(): Promise<AuditVerification> {
    return verifyAuditTrail(this.store, this.recorder);
  }

  /** The whole chain as JSON Lines. */
  exportJsonLines(): AsyncGenerator<string> {
    return exportAuditJsonLines(this.store);
  }
}
