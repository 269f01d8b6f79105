/**
 * Envelope encryption of secret versions with AES-256-GCM (node:crypto). Each version gets a fresh
 * 256-bit data key; every item is encrypted under it with a random 96-bit IV, and the data key is
 * wrapped under the key-encryption key (KEK). The additional authenticated data binds each item's
 * ciphertext to its secret's environment, name, version and item key, and the wrapped data key to
 * the same plus the KEK's id: a row (or an item) copied to another secret, version or key fails to
 * decrypt instead of yielding a value under the wrong name. Re-wrapping (key rotation) touches only
 * the wrapped key. Pure apart from randomness: no I/O, and no value ever reaches an error message.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { EncryptedItem, SecretVersionId, WrappedKey } from '../../core/resources.js';

/** A key-encryption key: 32 bytes and the id stored beside what it wraps. */
export interface Kek {
  readonly id: string;
  readonly key: Buffer;
}

/** A version's items encrypted, with the wrapped data key. */
export interface SealedVersion {
  items: EncryptedItem[];
  dataKey: WrappedKey;
}

/** Decryption failed: wrong key, tampered or misplaced ciphertext. The message names no value. */
export class DecryptionError extends Error {
  override readonly name = 'DecryptionError';
}

const ALGORITHM = 'aes-256-gcm';
const IV_BYTES = 12;
const AAD_PREFIX = 'wharf-secret-v1';

function aad(parts: readonly (string | number)[]): Buffer {
  // NUL cannot occur in names, keys or ids, so the joined parts are unambiguous.
  return Buffer.from([AAD_PREFIX, ...parts.map(String)].join('\0'), 'utf8');
}

function itemAad(id: SecretVersionId, key: string): Buffer {
  return aad(['item', id.environment, id.name, id.version, key]);
}

function dataKeyAad(id: SecretVersionId, kekId: string): Buffer {
  return aad(['data-key', id.environment, id.name, id.version, kekId]);
}

function seal(key: Buffer, plaintext: Buffer, additional: Buffer): { iv: string; ciphertext: string; tag: string } {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv(ALGORITHM, key, iv);
  cipher.setAAD(additional);
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return {
    iv: iv.toString('base64'),
    ciphertext: ciphertext.toString('base64'),
    tag: cipher.getAuthTag().toString('base64'),
  };
}

function open(
  key: Buffer,
  sealed: { iv: string; ciphertext: string; tag: string },
  additional: Buffer,
  what: string,
): Buffer {
  try {
    const decipher = createDecipheriv(ALGORITHM, key, Buffer.from(sealed.iv, 'base64'));
    decipher.setAAD(additional);
    decipher.setAuthTag(Buffer.from(sealed.tag, 'base64'));
    return Buffer.concat([decipher.update(Buffer.from(sealed.ciphertext, 'base64')), decipher.final()]);
  } catch {
    throw new DecryptionError(`${what}: does not decrypt (wrong key, or the row was altered or moved)`);
  }
}

/** Encrypts `items` for version `id` under a fresh data key wrapped by `kek`. */
export function sealVersion(id: SecretVersionId, items: Readonly<Record<string, string>>, kek: Kek): SealedVersion {
  const dataKey = randomBytes(32);
  try {
    const sealedItems = Object.keys(items)
      .sort()
      .map((key) => ({ key, ...seal(dataKey, Buffer.from(items[key]!, 'utf8'), itemAad(id, key)) }));
    return { items: sealedItems, dataKey: wrapDataKey(id, dataKey, kek) };
  } finally {
    dataKey.fill(0);
  }
}

/** The data key wrapped by `kek` for version `id`. */
export function wrapDataKey(id: SecretVersionId, dataKey: Buffer, kek: Kek): WrappedKey {
  return { kekId: kek.id, ...seal(kek.key, dataKey, dataKeyAad(id, kek.id)) };
}

/** The data key of version `id`, unwrapped with `kek` (which must be the one `wrapped.kekId` names). */
export function unwrapDataKey(id: SecretVersionId, wrapped: WrappedKey, kek: Kek): Buffer {
  if (wrapped.kekId !== kek.id) throw new DecryptionError(`data key: wrapped by key ${wrapped.kekId}, not ${kek.id}`);
  const key = open(kek.key, wrapped, dataKeyAad(id, wrapped.kekId), 'data key');
  if (key.length !== 32) throw new DecryptionError('data key: wrong length');
  return key;
}

/** The data key re-wrapped under `next` (rotation); the items stay as they are. */
export function rewrapDataKey(id: SecretVersionId, wrapped: WrappedKey, current: Kek, next: Kek): WrappedKey {
  const dataKey = unwrapDataKey(id, wrapped, current);
  try {
    return wrapDataKey(id, dataKey, next);
  } finally {
    dataKey.fill(0);
  }
}

/** The plaintext of the items named in `keys` (all when omitted) of version `id`. */
export function openItems(
  id: SecretVersionId,
  sealed: SealedVersion,
  kek: Kek,
  keys?: readonly string[],
): Record<string, string> {
  const dataKey = unwrapDataKey(id, sealed.dataKey, kek);
  try {
    const out: Record<string, string> = {};
    for (const item of sealed.items) {
      if (keys !== undefined && !keys.includes(item.key)) continue;
      out[item.key] = open(dataKey, item, itemAad(id, item.key), `item ${item.key}`).toString('utf8');
    }
    return out;
  } finally {
    dataKey.fill(0);
  }
}
