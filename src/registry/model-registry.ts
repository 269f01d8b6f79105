/**
 * The model registry: named models, their immutable semver versions, and the content-addressed
 * artifacts behind them. Metadata lives in the {@link Store}; bytes live in a {@link BlobStore}.
 * The HTTP API (`POST /api/v1/models/{name}/versions` and friends) is a thin layer over this class.
 *
 * A push either records a complete version or leaves nothing behind: no version, no model it
 * created, no blob that only it referenced.
 */
import type { Readable } from 'node:stream';
import { InvalidArgumentError, NotFoundError, PayloadTooLargeError, UnavailableError } from '../core/errors.js';
import type { Model, ModelVersion, NewResource } from '../core/resources.js';
import { compareSemver, isSemver, parseSemver } from '../core/semver.js';
import { AlreadyExistsError } from '../store/errors.js';
import type { Page, Store, StoreCollections } from '../store/store.js';
import { TEST_FAULT_LABEL_PREFIX } from '../workloads/onnx-model/test-faults.js';
import { workloadKindOf } from '../workloads/workload-kind.js';
import { readSignature, type Signature } from './artifact-signature.js';
import type { BlobBody, BlobInfo, BlobStore } from './blob-store.js';
import { type DigestLease, DigestLeases } from './digest-leases.js';
import { VersionExistsError } from './errors.js';
import { checkModelName, type PushVersionInput, type ValidPushInput, validatePushInput } from './push-input.js';
import { allVersions, ensureModel, isReferenced, referencedDigests } from './version-queries.js';

export type { PushVersionInput } from './push-input.js';

/** 1 GiB: large enough for any model a CPU replica serves well, small enough to stop a runaway upload. */
export const DEFAULT_MAX_ARTIFACT_BYTES = 1024 ** 3;
// Concurrent first pushes of one model race to create it; the loser retries once it sees the winner's.
const CREATE_MODEL_ATTEMPTS = 3;

// The workload kind whose artifacts model versions are: it reads their signature.
const MODEL_VERSION_KIND = workloadKindOf('model');

/** Options of {@link ModelRegistry}. */
export interface ModelRegistryOptions {
  /** Largest artifact accepted, in bytes; default {@link DEFAULT_MAX_ARTIFACT_BYTES}. */
  maxArtifactBytes?: number;
  /** The clock for `createdAt`; default the system clock. */
  now?: () => Date;
  /**
   * Accept pushes labelled `wharf.dev/test-fault-*` (the control plane's `testFaults`); off by
   * default, so nobody who may push a model can label it to fail on purpose.
   */
  acceptTestFaultLabels?: boolean;
  /** Digest leases shared with another registry on the same blob store (the bundle registry). */
  leases?: DigestLeases;
}

/**
 * Models, versions and artifacts.
 *
 * @example
 *   const registry = new ModelRegistry(store, new FsBlobStore(join(home, 'blobs')));
 *   const v = await registry.pushVersion({ model: 'readmission', version: '1.4.0' }, request);
 *   v.artifact.digest // 'sha256:…'
 */
export class ModelRegistry {
  readonly maxArtifactBytes: number;
  readonly #store: Store;
  readonly #blobs: BlobStore;
  readonly #now: () => Date;
  readonly #acceptTestFaultLabels: boolean;
  readonly #leases: DigestLeases;

  constructor(store: Store, blobs: BlobStore, options: ModelRegistryOptions = {}) {
    const max = options.maxArtifactBytes ?? DEFAULT_MAX_ARTIFACT_BYTES;
    if (!Number.isSafeInteger(max) || max < 1)
      throw new InvalidArgumentError(`maxArtifactBytes: must be a positive integer, got ${max}`);
    this.maxArtifactBytes = max;
    this.#store = store;
    this.#blobs = blobs;
    this.#now = options.now ?? (() => new Date());
    this.#acceptTestFaultLabels = options.acceptTestFaultLabels === true;
    this.#leases = options.leases ?? new DigestLeases();
  }

  /**
   * Stores a new version: validates the input, streams `body` into the blob store (sha256, size
   * limit), has its workload kind load it (ONNX Runtime) to check it and read its signature, and records the version,
   * creating the model on its first push, in one transaction.
   *
   * Throws `INVALID_ARGUMENT` (bad name, version, labels…, or an artifact ONNX Runtime cannot
   * load), `ALREADY_EXISTS` ({@link VersionExistsError}: versions are immutable),
   * `PAYLOAD_TOO_LARGE` (detected while streaming). When it throws before streaming (bad input, a
   * version that exists) `body` is not read; the caller decides what to do with it.
   */
  async pushVersion(input: PushVersionInput, body: BlobBody): Promise<ModelVersion> {
    const valid = validatePushInput(input);
    this.#refuseTestFaultLabels(valid);
    // Cheap check first, so a duplicate is refused before a possibly large upload.
    await this.#assertVersionFree(this.#store, valid);
    const blob = await this.#upload(body);
    const lease = this.#leases.acquire(blob.digest);
    try {
      // A failed push of the same bytes may have decided to delete the blob just before our lease.
      await this.#leases.settled(blob.digest);
      if (!(await this.#blobs.has(blob.digest))) {
        throw new UnavailableError(
          'artifact: removed by a concurrent failed push of the same bytes before it was recorded; retry',
        );
      }
      // Nothing for ONNX Runtime to say about no bytes but an error naming its own source files.
      if (blob.size === 0)
        throw new InvalidArgumentError('artifact: is empty (0 bytes); push the .onnx model file itself');
      // Again after the upload, which may have taken minutes, and before the costly model load.
      await this.#assertVersionFree(this.#store, valid);
      // A model version is the artifact of `type: model` deployments: that kind validates it.
      const signature = await readSignature(
        this.#blobs,
        blob.digest,
        { name: valid.model, version: valid.version },
        MODEL_VERSION_KIND,
      );
      const created = await this.#record(valid, blob, signature);
      lease.release();
      return created;
    } catch (err) {
      await this.#discard(lease);
      throw err;
    }
  }

  /** A model; throws `NOT_FOUND`. */
  async getModel(name: string): Promise<Model> {
    return this.#store.models.get(checkModelName(name));
  }

  /** Models in name order, one page at a time (`limit` 1 … 1000, default 100). */
  async listModels(options: { limit?: number; continue?: string } = {}): Promise<Page<Model>> {
    return this.#store.models.list(options);
  }

  /** One version; throws `NOT_FOUND`. */
  async getVersion(model: string, version: string): Promise<ModelVersion> {
    return this.#store.modelVersions.get({ model: checkModelName(model, 'model'), version });
  }

  /** Every version of a model, highest precedence first; throws `NOT_FOUND` for an unknown model. */
  async listVersions(model: string): Promise<ModelVersion[]> {
    await this.#store.models.get(checkModelName(model, 'model'));
    const versions = await allVersions(this.#store, model);
    return versions.sort((a, b) => compareSemver(b.version, a.version));
  }

  /**
   * The highest release version (pre-releases only with `includePrerelease`); throws `NOT_FOUND`
   * when there is none.
   */
  async latestVersion(model: string, options: { includePrerelease?: boolean } = {}): Promise<ModelVersion> {
    const versions = await this.listVersions(model);
    const latest = options.includePrerelease ? versions[0] : versions.find((v) => isRelease(v.version));
    if (latest !== undefined) return latest;
    throw new NotFoundError(
      versions.length === 0
        ? `model ${model} has no versions`
        : `model ${model} has only pre-release versions (${versions.map((v) => v.version).join(', ')}); ask with includePrerelease`,
    );
  }

  /**
   * Removes what a crash (kill -9 during a push) left in the blob store: temp files of uploads cut
   * short, and blobs that no version references. Only leftovers last written more than
   * `olderThanMs` ago go, since a push in another process sharing the blob root may be between its
   * upload and its record right now; in this process a push's lease keeps its blob (see
   * digest-leases.ts). Returns how many of each went.
   */
  async sweepLeftovers(options: { olderThanMs: number }): Promise<{ tempFiles: number; blobs: number }> {
    const tempFiles = (await this.#blobs.sweepTemp?.(options)) ?? 0;
    const cutoff = Date.now() - options.olderThanMs;
    const old = ((await this.#blobs.list?.()) ?? []).filter((b) => b.modifiedMs < cutoff);
    if (old.length === 0) return { tempFiles, blobs: 0 };
    const referenced = await referencedDigests(this.#store);
    let blobs = 0;
    for (const { digest } of old) {
      if (referenced.has(digest)) continue;
      // Decided under a lease with a fresh reference check, like a failed push's cleanup: a push
      // recorded since the scan above, or one holding the digest now, keeps the blob.
      const lease = this.#leases.acquire(digest);
      const removed = await this.#leases.releaseAndDelete(
        lease,
        () => isReferenced(this.#store, digest),
        () => this.#blobs.delete(digest),
      );
      if (removed) blobs++;
    }
    return { tempFiles, blobs };
  }

  /** The artifact's bytes; throws `NOT_FOUND` or `INVALID_ARGUMENT` for a malformed digest. */
  async openArtifact(digest: string): Promise<Readable> {
    return this.#blobs.open(digest);
  }

  /** The artifact's local file path, or `undefined` when the blob store is remote. */
  async artifactPath(digest: string): Promise<string | undefined> {
    return this.#blobs.path(digest);
  }

  async #upload(body: BlobBody): Promise<BlobInfo> {
    try {
      return await this.#blobs.put(body, { maxBytes: this.maxArtifactBytes });
    } catch (err) {
      if (err instanceof PayloadTooLargeError) {
        throw new PayloadTooLargeError(`artifact: larger than the limit of ${this.maxArtifactBytes} bytes`);
      }
      throw err;
    }
  }

  /** `INVALID_ARGUMENT` naming the label when a test-fault label arrives without the test switch. */
  #refuseTestFaultLabels(valid: ValidPushInput): void {
    if (this.#acceptTestFaultLabels) return;
    const fault = Object.keys(valid.labels).find((key) => key.startsWith(TEST_FAULT_LABEL_PREFIX));
    if (fault === undefined) return;
    throw new InvalidArgumentError(
      `labels.${fault}: test-fault labels (${TEST_FAULT_LABEL_PREFIX}*) are accepted only by a control plane started with --enable-test-faults`,
    );
  }

  /** Throws {@link VersionExistsError} if the model has this version, or one equal in precedence. */
  async #assertVersionFree(c: StoreCollections, valid: ValidPushInput): Promise<void> {
    for (const v of await allVersions(c, valid.model)) {
      if (v.version === valid.version || (isSemver(v.version) && compareSemver(v.version, valid.semver) === 0)) {
        throw new VersionExistsError(valid.model, valid.version, v.version);
      }
    }
  }

  /** Creates the model if missing and the version, in one transaction. */
  async #record(valid: ValidPushInput, blob: BlobInfo, signature: Signature): Promise<ModelVersion> {
    const version: NewResource<'ModelVersion'> = {
      model: valid.model,
      version: valid.version,
      artifact: { digest: blob.digest, size: blob.size, filename: valid.filename },
      signature,
      labels: valid.labels,
      ...(valid.metrics === undefined ? {} : { metrics: valid.metrics }),
      ...(valid.source === undefined ? {} : { source: valid.source }),
      createdAt: this.#now().toISOString(),
    };
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.#store.transaction(async (tx) => {
          // Inside the transaction too: on SQLite writes are serialised, so this also closes the
          // race between two pushes that differ only in build metadata.
          await this.#assertVersionFree(tx, valid);
          await ensureModel(tx, valid);
          return tx.modelVersions.create(version);
        });
      } catch (err) {
        if (!(err instanceof AlreadyExistsError) || err instanceof VersionExistsError) throw err;
        if (err.kind === 'ModelVersion') throw new VersionExistsError(valid.model, valid.version);
        if (err.kind === 'Model' && attempt < CREATE_MODEL_ATTEMPTS) continue;
        throw err;
      }
    }
  }

  /**
   * After a failed push: removes the blob unless a version or another push uses it. Best effort: a
   * failure here must not hide the push's own error, and leaves at worst an unreferenced blob.
   */
  async #discard(lease: DigestLease): Promise<void> {
    try {
      await this.#leases.releaseAndDelete(
        lease,
        () => isReferenced(this.#store, lease.digest),
        () => this.#blobs.delete(lease.digest),
      );
    } catch {
      lease.release();
    }
  }
}

function isRelease(version: string): boolean {
  return isSemver(version) && parseSemver(version).prerelease.length === 0;
}
