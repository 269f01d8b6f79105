/**
 * Opens the audit trail of a control plane: the checkpoint signing key (`<home>/audit-signing.key`
 * unless `auditKeyFile` says otherwise, created 0600 at first start), the checkpoint file
 * `<home>/audit-checkpoints.jsonl`, and the recorder over the store.
 */
import { join } from 'node:path';
import { AuditTrail } from '../services/audit/audit-trail.js';
import { AuditRecorder } from '../services/audit/recorder.js';
import { loadOrCreateSigningKey } from '../services/audit/signing-key.js';
import { HOME_FILES, readTrustedAuditKeys } from '../services/backup/home-files.js';
import type { Store } from '../store/store.js';

/** The file names under the home folder. */
export const AUDIT_FILES = { signingKey: 'audit-signing.key', checkpoints: 'audit-checkpoints.jsonl' } as const;

/** The trail over `store`, its recorder started. Close it with `trail.recorder.close()` (a last checkpoint). */
export async function openAuditTrail(
  store: Store,
  options: { home: string; auditKeyFile?: string; log: (line: string) => void },
): Promise<AuditTrail> {
  const signingKey = await loadOrCreateSigningKey(options.auditKeyFile ?? join(options.home, AUDIT_FILES.signingKey));
  // A restored home trusts the checkpoints its backup's control plane signed (services/backup/).
  const trustedKeys = await readTrustedAuditKeys(join(options.home, HOME_FILES.trustedAuditKeys));
  const recorder = new AuditRecorder(store, {
    signingKey,
    trustedKeys,
    checkpointFile: join(options.home, AUDIT_FILES.checkpoints),
    log: options.log,
  });
  await recorder.start();
  return new AuditTrail(store, recorder);
}
