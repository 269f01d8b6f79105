/**
 * The Ed25519 key that signs audit checkpoints: `$WHARF_HOME/audit-signing.key` (PKCS#8 PEM, mode
 * 0600), created at first start; `WHARF_AUDIT_KEY_FILE` may point elsewhere (the server passes
 * the path; nothing here reads the environment). Kept outside the database on purpose: whoever can
 * rewrite the database cannot forge a checkpoint without it.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { keyIdOf } from '../../core/audit/verify.js';

/** The signing key, its public half and the public key's id. */
export interface AuditSigningKey {
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  /** Hex SHA-256 of the raw public key: what checkpoints name as `keyId`. */
  readonly keyId: string;
}

/** Reads the key at `path`, or creates it (0600) when there is none. */
export async function loadOrCreateSigningKey(path: string): Promise<AuditSigningKey> {
  let pem: string;
  try {
    pem = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    await mkdir(dirname(path), { recursive: true });
    const { privateKey } = generateKeyPairSync('ed25519');
    const created = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    try {
      // `wx`: two processes starting at once keep whichever key was written first.
      await writeFile(path, created, { mode: 0o600, flag: 'wx' });
      pem = created;
    } catch (raced) {
      if ((raced as NodeJS.ErrnoException).code !== 'EEXIST') throw raced;
      pem = await readFile(path, 'utf8');
    }
  }
  await chmod(path, 0o600);
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(pem);
  } catch {
    throw new Error(`audit signing key ${path}: not a PEM private key`);
  }
  if (privateKey.asymmetricKeyType !== 'ed25519')
    throw new Error(`audit signing key ${path}: must be an Ed25519 key, got ${privateKey.asymmetricKeyType}`);
  const publicKey = createPublicKey(privateKey);
  return { privateKey, publicKey, keyId: keyIdOf(publicKey) };
}
