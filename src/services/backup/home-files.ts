/**
 * The files of a Wharf home that a backup carries or a restore writes, besides the database:
 * where they are, and the audit keys a restored control plane trusts.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

/** File names under the home (the server's `AUDIT_FILES` and the key ring's `KEY_FILE` agree). */
export const HOME_FILES = {
  database: 'wharf.db',
  blobs: 'blobs',
  checkpoints: 'audit-checkpoints.jsonl',
  auditSigningKey: 'audit-signing.key',
  secretKey: 'secret.key',
  /**
   * Public keys (PEM, one after another) of the control planes whose audit checkpoints this one
   * trusts besides its own: a restore writes the backed-up home's keys here, so `wharf audit
   * verify` still accepts the checkpoints signed before the restore.
   */
  trustedAuditKeys: 'audit-trusted-keys.pem',
} as const;

/** The path of one of {@link HOME_FILES} in `home`. */
export function homeFile(home: string, file: keyof typeof HOME_FILES): string {
  return join(home, HOME_FILES[file]);
}

const PEM_BLOCK = /-----BEGIN [A-Z ]+-----[\s\S]+?-----END [A-Z ]+-----/g;

/** Splits PEM text into its blocks (public or private keys). */
export function pemBlocks(text: string): string[] {
  return text.match(PEM_BLOCK) ?? [];
}

/** Reads a file, or undefined when it does not exist. */
export async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

/**
 * The public keys in `<home>/audit-trusted-keys.pem` (none when the file is absent). A block that
 * is not a public key fails the start: a trust file that silently trusts nothing would make a
 * restored trail fail verification for a reason nobody sees.
 */
export async function readTrustedAuditKeys(path: string): Promise<KeyObject[]> {
  const text = await readIfExists(path);
  if (text === undefined) return [];
  return pemBlocks(text).map((pem, i) => {
    try {
      return createPublicKey(pem);
    } catch {
      throw new Error(`${path}: block ${i + 1} is not a PEM public key`);
    }
  });
}
