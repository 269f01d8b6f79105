/**
 * The backup archive: a gzipped tar (the `tar` package) laid out as
 *
 * ```
 * manifest.json                 this file's shape: versions, counts, digests, the store's checksum
 * store/objects.jsonl           every stored object   ┐ rows of one consistent snapshot
 * store/changes.jsonl           the change feed       │ (store/backup/store-dump.ts)
 * store/counters.jsonl          named counters        ┘
 * blobs/sha256/<hex>            every blob a stored object names by `digest`
 * audit/checkpoints.jsonl       the checkpoint file's lines up to the snapshot's audit head
 * audit/trusted-keys.pem        public keys the checkpoints are signed with
 * keys/secret.key               only with --include-keys
 * keys/audit-signing.key        only with --include-keys
 * ```
 *
 * The manifest is read first on restore and every other file is checked against it (a file the
 * manifest does not name is refused, a blob whose bytes do not hash to its name is refused).
 */
import { z } from 'zod';
import type { StoreDumpInfo } from '../../store/backup/store-dump.js';

/** The archive format's name and version (a later Wharf reads older versions). */
export const BACKUP_FORMAT = 'wharf-backup';
/** The version this build writes. */
export const BACKUP_FORMAT_VERSION = 1;

/** Paths inside the archive. */
export const ARCHIVE_PATHS = {
  manifest: 'manifest.json',
  store: 'store',
  blobs: 'blobs/sha256',
  checkpoints: 'audit/checkpoints.jsonl',
  trustedKeys: 'audit/trusted-keys.pem',
  secretKey: 'keys/secret.key',
  auditSigningKey: 'keys/audit-signing.key',
} as const;

const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex digits');

const manifestSchema = z.object({
  format: z.literal(BACKUP_FORMAT),
  formatVersion: z.literal(BACKUP_FORMAT_VERSION),
  wharfVersion: z.string(),
  createdAt: z.string(),
  store: z.object({
    backend: z.enum(['sqlite', 'postgres']),
    migrations: z.array(z.string()),
    counts: z.object({ objects: z.number().int(), changes: z.number().int(), counters: z.number().int() }),
    files: z.record(z.string(), sha256Hex),
    checksum: sha256Hex,
  }),
  audit: z.object({
    head: z.object({ seq: z.number().int(), hash: z.string() }).nullable(),
    checkpoints: z.number().int(),
    checkpointsSha256: sha256Hex,
    trustedKeys: z.number().int(),
  }),
  blobs: z.array(z.object({ digest: z.string().regex(/^sha256:[0-9a-f]{64}$/), size: z.number().int() })),
  keys: z.object({ secretKey: z.boolean(), auditSigningKey: z.boolean() }),
});

/** What `manifest.json` holds. */
export type BackupManifest = z.infer<typeof manifestSchema> & { store: StoreDumpInfo };

/** Parses `manifest.json`; throws naming the field and the rule. */
export function parseManifest(text: string): BackupManifest {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new Error('manifest.json: not JSON; is this a Wharf backup?');
  }
  const format = (value as { format?: unknown } | null)?.format;
  if (format !== BACKUP_FORMAT)
    throw new Error(`manifest.json: format must be ${BACKUP_FORMAT}; is this a Wharf backup?`);
  const result = manifestSchema.safeParse(value);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw new Error(`manifest.json: ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  return result.data as BackupManifest;
}
