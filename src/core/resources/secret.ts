/**
 * Secrets: named sets of key/value items per environment, kept encrypted (envelope encryption, see
 * `services/secrets/`). Two kinds: {@link Secret}, the metadata users see (key names only, never a
 * value), and {@link SecretVersion}, one encrypted snapshot per write, never changed except that
 * `rotate-key` re-wraps its data key under a new key-encryption key. Pure types and definitions.
 */
import { InvalidArgumentError } from '../errors.js';
import { defineKind, keyPart, splitKey } from './define-kind.js';
import type { StoredFields } from './stored.js';

/** A secret's metadata: which keys it holds and its current version; never a value. */
export interface Secret extends StoredFields {
  environment: string;
  /** A DNS label, unique within the environment (it names Kubernetes Secrets too). */
  name: string;
  /** The newest {@link SecretVersion}'s number (1, 2, …). */
  currentVersion: number;
  /** The item names of the current version, sorted. */
  keys: string[];
  createdAt: string;
  createdBy: string;
  updatedAt: string;
  updatedBy: string;
  /** Set when deleted: the versions are gone (their data keys with them); a new `set` starts again. */
  deleted?: boolean;
}

/** One item of a version, encrypted with the version's data key. Base64 fields. */
export interface EncryptedItem {
  key: string;
  iv: string;
  ciphertext: string;
  tag: string;
}

/** A data key wrapped (AES-256-GCM) by the key-encryption key `kekId`. Base64 fields. */
export interface WrappedKey {
  kekId: string;
  iv: string;
  ciphertext: string;
  tag: string;
}

/** One write of a secret: its items encrypted under a fresh data key, and that key wrapped. */
export interface SecretVersion extends StoredFields {
  environment: string;
  name: string;
  version: number;
  items: EncryptedItem[];
  dataKey: WrappedKey;
  createdAt: string;
  createdBy: string;
}

/** What identifies a secret. */
export interface SecretId {
  environment: string;
  name: string;
}

/** What identifies one version of a secret. */
export interface SecretVersionId extends SecretId {
  version: number;
}

const VERSION_DIGITS = 10;

function paddedVersion(value: number): string {
  if (!Number.isSafeInteger(value) || value < 1)
    throw new InvalidArgumentError(`version: must be a positive integer, got ${value}`);
  return String(value).padStart(VERSION_DIGITS, '0');
}

/** Secrets in the store: keyed `<environment>/<name>`, indexed by environment. */
export const secretKind = defineKind<Secret, SecretId, { environment?: string }>()({
  kind: 'Secret',
  collection: 'secrets',
  key: (id) => `${keyPart('environment', id.environment)}/${keyPart('name', id.name)}`,
  idOfKey: (key) => {
    const [environment, name] = splitKey(key);
    return { environment, name };
  },
  id: (o) => ({ environment: o.environment, name: o.name }),
  index: (o) => ({ environment: o.environment, parent: null }),
  filter: (f) => (f.environment === undefined ? {} : { environment: f.environment }),
});

/**
 * Secret versions: keyed `<environment>/<name>/<padded version>` (key order is version order),
 * indexed (`parent`) by `<environment>/<name>`. Not append-only at the store level only because
 * `rotate-key` rewrites `dataKey`; the items are never changed.
 */
export const secretVersionKind = defineKind<SecretVersion, SecretVersionId, { secret?: SecretId }>()({
  kind: 'SecretVersion',
  collection: 'secretVersions',
  key: (id) => `${keyPart('environment', id.environment)}/${keyPart('name', id.name)}/${paddedVersion(id.version)}`,
  idOfKey: (key) => {
    const [environment, rest] = splitKey(key);
    const [name, version] = splitKey(rest);
    return { environment, name, version: Number(version) };
  },
  id: (o) => ({ environment: o.environment, name: o.name, version: o.version }),
  index: (o) => ({ environment: o.environment, parent: `${o.environment}/${o.name}` }),
  filter: (f) => (f.secret === undefined ? {} : { parent: `${f.secret.environment}/${f.secret.name}` }),
});
