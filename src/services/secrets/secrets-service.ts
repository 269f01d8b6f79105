/**
 * Secrets as users and the runtime use them: `set` (every write a new encrypted version), `get` and
 * `list` (metadata only: key names, versions, who and when — never a value), `delete` (the versions
 * and their wrapped data keys are removed with it), `rotateKey` (every data key re-wrapped under a
 * new key-encryption key in one transaction; item ciphertexts untouched) and `resolve`, which
 * decrypts, for the runtime only (the API never calls it). Encryption is `envelope.ts`'s, the keys
 * `key-ring.ts`'s. A decryption failure is reported by secret, version and key, never by value.
 */
import {
  hasErrorCode,
  InvalidArgumentError,
  NotFoundError,
  UnavailableError,
  unlessNotFound,
} from '../../core/errors.js';
import type { Secret, SecretVersion } from '../../core/resources.js';
import { validateSecretData, validateSecretKey, validateSecretName } from '../../core/secret-rules.js';
import type { Page, PageOptions, Store, StoreCollections } from '../../store/store.js';
import { listAll } from '../store-pages.js';
import { DecryptionError, openItems, rewrapDataKey, sealVersion } from './envelope.js';
import type { KeyRing } from './key-ring.js';

/** A secret as the API shows it: metadata only. */
export type SecretMetadata = Omit<Secret, 'resourceVersion' | 'deleted'>;

/** One env reference the runtime resolves: secret, key and (when pinned) version. */
export interface SecretRefToResolve {
  readonly name: string;
  readonly key: string;
  /** The version a revision pinned; the current one when absent. */
  readonly version?: number;
}

/** What `rotateKey` did. */
export interface RotationResult {
  /** The id of the KEK every data key is now wrapped with. */
  kekId: string;
  /** Versions whose data key was re-wrapped. */
  rewrapped: number;
}

/** Settings of {@link Secrets}. */
export interface SecretsOptions {
  now?: () => Date;
}

function metadataOf(s: Secret): SecretMetadata {
  const { resourceVersion: _v, deleted: _d, ...rest } = s;
  return rest;
}

function environmentName(environment: unknown): asserts environment is string {
  if (typeof environment !== 'string' || environment === '' || environment.includes('/'))
    throw new InvalidArgumentError('environment: must be a non-empty name without "/"');
}

/** See the module comment. */
export class Secrets {
  readonly #store: Store;
  readonly #keys: KeyRing;
  readonly #now: () => Date;

  constructor(store: Store, keys: KeyRing, options: SecretsOptions = {}) {
    this.#store = store;
    this.#keys = keys;
    this.#now = options.now ?? (() => new Date());
  }

  /** Stores `data` as the secret's next version (version 1 for a new or deleted secret). */
  async set(environment: string, name: string, data: Record<string, string>, actor: string): Promise<SecretMetadata> {
    environmentName(environment);
    validateSecretName(name);
    validateSecretData(data);
    const now = this.#now().toISOString();
    return this.#store.transaction(async (tx) => {
      await tx.environments.get(environment).catch((e: unknown) => {
        throw hasErrorCode(e, 'NOT_FOUND')
          ? new InvalidArgumentError(`environment: no environment named ${JSON.stringify(environment)}`)
          : e;
      });
      const existing = await unlessNotFound(tx.secrets.get({ environment, name }));
      const live = existing !== undefined && existing.deleted !== true;
      const version = live ? existing.currentVersion + 1 : 1;
      const sealed = sealVersion({ environment, name, version }, data, this.#keys.current());
      await tx.secretVersions.create({ environment, name, version, ...sealed, createdAt: now, createdBy: actor });
      const keys = Object.keys(data).sort();
      const next = {
        environment,
        name,
        currentVersion: version,
        keys,
        createdAt: live ? existing.createdAt : now,
        createdBy: live ? existing.createdBy : actor,
        updatedAt: now,
        updatedBy: actor,
      };
      const written =
        existing === undefined
          ? await tx.secrets.create(next)
          : await tx.secrets.update({ ...next, resourceVersion: existing.resourceVersion });
      return metadataOf(written);
    });
  }

  /** The secret's metadata; `NOT_FOUND` when there is none (or it was deleted). */
  async get(environment: string, name: string): Promise<SecretMetadata> {
    return metadataOf(await this.#live(this.#store, environment, name));
  }

  /** The secrets of an environment, in name order, metadata only. */
  async list(environment: string, page: PageOptions = {}): Promise<Page<SecretMetadata>> {
    environmentName(environment);
    const result = await this.#store.secrets.list({ environment, ...page });
    return {
      items: result.items.filter((s) => s.deleted !== true).map(metadataOf),
      ...(result.continue === undefined ? {} : { continue: result.continue }),
    };
  }

  /**
   * Deletes the secret: its versions (ciphertexts and wrapped data keys) are removed, the record
   * stays marked deleted so that its name's history (who, when) survives. `NOT_FOUND` if absent.
   */
  async delete(environment: string, name: string, actor: string): Promise<void> {
    const now = this.#now().toISOString();
    await this.#store.transaction(async (tx) => {
      const current = await this.#live(tx, environment, name);
      for (const v of await listAll(tx.secretVersions, { secret: { environment, name } }))
        await tx.secretVersions.delete({ environment, name, version: v.version });
      await tx.secrets.update({ ...current, keys: [], deleted: true, updatedAt: now, updatedBy: actor });
    });
  }

  /**
   * Re-wraps every version's data key under a new KEK, in one transaction: either every row moves
   * to the new key or none does. The items' ciphertexts are not touched.
   */
  async rotateKey(): Promise<RotationResult> {
    const rotation = this.#keys.beginRotation();
    try {
      const rewrapped = await this.#store.transaction(async (tx) => {
        let count = 0;
        for (const v of await listAll(tx.secretVersions)) {
          if (v.dataKey.kekId === rotation.next.id) continue;
          const id = { environment: v.environment, name: v.name, version: v.version };
          const dataKey = rewrapDataKey(id, v.dataKey, this.#keys.byId(v.dataKey.kekId), rotation.next);
          await tx.secretVersions.update({ ...v, dataKey });
          count++;
        }
        return count;
      });
      rotation.commit();
      return { kekId: rotation.next.id, rewrapped };
    } catch (error) {
      rotation.abort();
      throw error instanceof DecryptionError ? new UnavailableError(`rotate-key: ${error.message}`) : error;
    }
  }

  /**
   * The values of `refs` in `environment`, by `name/key` — for the runtime only. Throws
   * NOT_FOUND naming the secret, version or key that is missing; never a value.
   */
  async resolve(environment: string, refs: readonly SecretRefToResolve[]): Promise<Map<string, string>> {
    environmentName(environment);
    const out = new Map<string, string>();
    const byVersion = new Map<string, SecretRefToResolve[]>();
    for (const ref of refs) {
      validateSecretName(ref.name, 'secretRef.name');
      validateSecretKey(ref.key, 'secretRef.key');
      const version = ref.version ?? (await this.#live(this.#store, environment, ref.name)).currentVersion;
      const id = `${ref.name}@${version}`;
      byVersion.set(id, [...(byVersion.get(id) ?? []), { ...ref, version }]);
    }
    for (const group of byVersion.values()) {
      const { name, version } = group[0]!;
      const row: SecretVersion | undefined = await unlessNotFound(
        this.#store.secretVersions.get({ environment, name, version: version! }),
      );
      if (row === undefined)
        throw new NotFoundError(`secret ${JSON.stringify(name)} version ${version} in ${environment}: not found`);
      const keys = group.map((r) => r.key);
      let values: Record<string, string>;
      try {
        values = openItems({ environment, name, version: version! }, row, this.#keys.byId(row.dataKey.kekId), keys);
      } catch (error) {
        if (error instanceof DecryptionError)
          throw new UnavailableError(`secret ${JSON.stringify(name)} version ${version}: ${error.message}`);
        throw error;
      }
      for (const key of keys) {
        const value = values[key];
        if (value === undefined)
          throw new NotFoundError(
            `secret ${JSON.stringify(name)} version ${version} has no key ${JSON.stringify(key)}`,
          );
        out.set(`${name}/${key}`, value);
      }
    }
    return out;
  }

  /** Every item of version `version` of a secret, by key — for the Kubernetes runtime only. */
  async readVersion(environment: string, name: string, version: number): Promise<Record<string, string>> {
    environmentName(environment);
    validateSecretName(name);
    const row = await unlessNotFound(this.#store.secretVersions.get({ environment, name, version }));
    if (row === undefined)
      throw new NotFoundError(`secret ${JSON.stringify(name)} version ${version} in ${environment}: not found`);
    try {
      return openItems({ environment, name, version }, row, this.#keys.byId(row.dataKey.kekId));
    } catch (error) {
      if (error instanceof DecryptionError)
        throw new UnavailableError(`secret ${JSON.stringify(name)} version ${version}: ${error.message}`);
      throw error;
    }
  }

  /**
   * Checks a reference at deployment create/update, inside its transaction: the secret exists with
   * `key` (in `version` when given). Returns the version to pin (the current one unless given).
   */
  static async checkRef(
    tx: StoreCollections,
    environment: string,
    ref: { name: string; key: string; version?: number },
    field: string,
  ): Promise<number> {
    const secret = await unlessNotFound(tx.secrets.get({ environment, name: ref.name }));
    if (secret === undefined || secret.deleted === true)
      throw new InvalidArgumentError(`${field}: no secret named ${JSON.stringify(ref.name)} in ${environment}`);
    if (ref.version === undefined || ref.version === secret.currentVersion) {
      if (!secret.keys.includes(ref.key))
        throw new InvalidArgumentError(
          `${field}: secret ${JSON.stringify(ref.name)} has no key ${JSON.stringify(ref.key)}`,
        );
      return secret.currentVersion;
    }
    const row = await unlessNotFound(tx.secretVersions.get({ environment, name: ref.name, version: ref.version }));
    if (row === undefined)
      throw new InvalidArgumentError(`${field}: secret ${JSON.stringify(ref.name)} has no version ${ref.version}`);
    if (!row.items.some((i) => i.key === ref.key))
      throw new InvalidArgumentError(
        `${field}: secret ${JSON.stringify(ref.name)} version ${ref.version} has no key ${JSON.stringify(ref.key)}`,
      );
    return ref.version;
  }

  async #live(collections: StoreCollections, environment: string, name: string): Promise<Secret> {
    environmentName(environment);
    validateSecretName(name);
    const s = await unlessNotFound(collections.secrets.get({ environment, name }));
    if (s === undefined || s.deleted === true)
      throw new NotFoundError(`secret ${JSON.stringify(name)} not found in environment ${JSON.stringify(environment)}`);
    return s;
  }
}
