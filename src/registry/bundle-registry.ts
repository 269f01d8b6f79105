/**
 * Application bundles: versioned, content-addressed `.tar.gz` archives of local code that
 * `application` and `worker` deployments run their command inside (`wharf app push NAME DIR
 * --version V`). Why beside the model registry and not a kind of model version: a bundle has no
 * signature, no metrics and no ONNX check, and model lists, admission rules and the console's model
 * pages must not show code archives; what is shared is what matters for the bytes — the same blob
 * store (one digest scheme, one download route `/api/v1/blobs/{digest}` for Kubernetes init
 * containers, one sweep of unreferenced blobs) and the same digest leases, so a failed push of
 * either kind never deletes a blob the other just stored.
 *
 * A push either records a complete, readable archive or leaves nothing: not a gzip'd tar → 400
 * naming `bundle`, over the size limit → 413 (detected while streaming), a version that exists →
 * 409, and the blob goes again unless something else references it.
 */
import { createReadStream } from 'node:fs';
import { Parser, type ReadEntry } from 'tar';
import {
  InvalidArgumentError,
  NotFoundError,
  PayloadTooLargeError,
  UnavailableError,
  unlessNotFound,
} from '../core/errors.js';
import type { BundleVersion, Labels, NewResource } from '../core/resources.js';
import { compareSemver, parseSemver } from '../core/semver.js';
import { AlreadyExistsError } from '../store/errors.js';
import type { Store } from '../store/store.js';
import type { BlobBody, BlobInfo, BlobStore } from './blob-store.js';
import type { DigestLeases } from './digest-leases.js';
import { checkModelName } from './push-input.js';
import { isReferenced } from './version-queries.js';

/** 256 MiB: code and small data files; model weights belong in the model registry or object storage. */
export const DEFAULT_MAX_BUNDLE_BYTES = 256 * 1024 ** 2;
const PAGE = 1000;

/** What a push names (the body carries the tarball). */
export interface PushBundleInput {
  /** The bundle's name: a DNS label. */
  bundle: string;
  /** Strict SemVer, e.g. `1.2.0`. */
  version: string;
  labels?: Labels;
}

/** A bundle as listed: its name, how many versions it has and the newest. */
export interface BundleSummary {
  name: string;
  versions: number;
  latestVersion: string;
}

/**
 * Bundles and their versions.
 *
 * @example
 *   const bundles = new BundleRegistry(store, blobs, leases);
 *   const v = await bundles.pushVersion({ bundle: 'feature-server', version: '1.2.0' }, request);
 */
export class BundleRegistry {
  readonly maxBundleBytes: number;

  constructor(
    private readonly store: Store,
    private readonly blobs: BlobStore,
    private readonly leases: DigestLeases,
    options: { maxBundleBytes?: number; now?: () => Date } = {},
  ) {
    this.maxBundleBytes = options.maxBundleBytes ?? DEFAULT_MAX_BUNDLE_BYTES;
    this.now = options.now ?? (() => new Date());
  }

  private readonly now: () => Date;

  /** Stores a new version (see the module comment for what is refused and how). */
  async pushVersion(input: PushBundleInput, body: BlobBody): Promise<BundleVersion> {
    const name = checkModelName(input.bundle, 'name');
    parseSemver(input.version, 'version');
    const labels = checkLabels(input.labels);
    await this.assertFree(name, input.version);
    const blob = await this.upload(body);
    const lease = this.leases.acquire(blob.digest);
    try {
      await this.leases.settled(blob.digest);
      if (!(await this.blobs.has(blob.digest)))
        throw new UnavailableError('bundle: removed by a concurrent failed push of the same bytes; retry');
      const files = await this.countFiles(blob);
      const version: NewResource<'BundleVersion'> = {
        bundle: name,
        version: input.version,
        artifact: { digest: blob.digest, size: blob.size, filename: `${name}-${input.version}.tar.gz` },
        files,
        labels,
        createdAt: this.now().toISOString(),
      };
      const created = await this.store.transaction(async (tx) => {
        await this.assertFree(name, input.version, tx);
        return tx.bundleVersions.create(version);
      });
      lease.release();
      return created;
    } catch (err) {
      await this.leases
        .releaseAndDelete(
          lease,
          () => isReferenced(this.store, lease.digest),
          () => this.blobs.delete(lease.digest),
        )
        .catch(() => lease.release());
      if (err instanceof AlreadyExistsError) throw versionExists(name, input.version);
      throw err;
    }
  }

  /** One version; `NOT_FOUND` when there is none. */
  getVersion(bundle: string, version: string): Promise<BundleVersion> {
    return this.store.bundleVersions.get({ bundle: checkModelName(bundle, 'name'), version });
  }

  /** Every version of `bundle`, highest first; `NOT_FOUND` when it has none. */
  async listVersions(bundle: string): Promise<BundleVersion[]> {
    const versions = await this.all({ bundle: checkModelName(bundle, 'name') });
    if (versions.length === 0) {
      throw new NotFoundError(`bundle ${JSON.stringify(bundle)} not found`);
    }
    return versions.sort((a, b) => compareSemver(b.version, a.version));
  }

  /** Every bundle in name order, with its version count and newest version. */
  async listBundles(): Promise<BundleSummary[]> {
    const byName = new Map<string, string[]>();
    for (const v of await this.all({})) byName.set(v.bundle, [...(byName.get(v.bundle) ?? []), v.version]);
    return [...byName.entries()]
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([name, versions]) => ({
        name,
        versions: versions.length,
        latestVersion: versions.sort((a, b) => compareSemver(b, a))[0]!,
      }));
  }

  private async all(filter: { bundle?: string }): Promise<BundleVersion[]> {
    const items: BundleVersion[] = [];
    let token: string | undefined;
    do {
      const page = await this.store.bundleVersions.list({
        ...filter,
        limit: PAGE,
        ...(token === undefined ? {} : { continue: token }),
      });
      items.push(...page.items);
      token = page.continue;
    } while (token !== undefined);
    return items;
  }

  private async assertFree(
    bundle: string,
    version: string,
    tx: Pick<Store, 'bundleVersions'> = this.store,
  ): Promise<void> {
    if ((await unlessNotFound(tx.bundleVersions.get({ bundle, version }))) !== undefined)
      throw versionExists(bundle, version);
  }

  private async upload(body: BlobBody): Promise<BlobInfo> {
    try {
      return await this.blobs.put(body, { maxBytes: this.maxBundleBytes });
    } catch (err) {
      if (err instanceof PayloadTooLargeError)
        throw new PayloadTooLargeError(`bundle: larger than the limit of ${this.maxBundleBytes} bytes`);
      throw err;
    }
  }

  /**
   * Reads the whole archive as the runtime will unpack it: a stream that is not gzip, or not tar
   * inside, is `INVALID_ARGUMENT` on `bundle`; so is an archive with no regular file.
   */
  private async countFiles(blob: BlobInfo): Promise<number> {
    if (blob.size === 0) throw new InvalidArgumentError('bundle: is empty (0 bytes); push a .tar.gz of the folder');
    let files = 0;
    const parser = new Parser({
      strict: true,
      onReadEntry: (entry: ReadEntry) => {
        if (entry.type === 'File' || entry.type === 'OldFile' || entry.type === 'ContiguousFile') files++;
        entry.resume();
      },
    });
    try {
      const local = await this.blobs.path(blob.digest);
      const source = local === undefined ? await this.blobs.open(blob.digest) : createReadStream(local);
      // The gzip header is checked first: a tar Parser would also read an uncompressed archive.
      // Fed by hand: tar's Parser is a Minipass stream, whose end stream/promises' pipeline misses.
      const done = new Promise<void>((resolve, reject) => {
        parser.on('end', resolve);
        parser.on('close', resolve);
        parser.on('error', reject);
      });
      // Handled where awaited below; this keeps an early parse error from counting as unhandled meanwhile.
      done.catch(() => undefined);
      let first = true;
      for await (const chunk of source as AsyncIterable<Buffer>) {
        if (first && (chunk.length < 2 || chunk[0] !== 0x1f || chunk[1] !== 0x8b)) {
          source.destroy();
          throw new Error('not gzip-compressed');
        }
        first = false;
        parser.write(chunk);
      }
      parser.end();
      await done;
    } catch (err) {
      throw new InvalidArgumentError(
        `bundle: must be a gzip-compressed tar archive (.tar.gz), which this is not: ${(err as Error).message}`,
      );
    }
    if (files === 0) throw new InvalidArgumentError('bundle: the archive holds no file');
    return files;
  }
}

function versionExists(bundle: string, version: string): AlreadyExistsError {
  const err = new AlreadyExistsError('BundleVersion', `${bundle}/${version}`);
  err.message = `bundle ${bundle} version ${version} already exists; versions are immutable`;
  return err;
}

function checkLabels(labels: unknown): Labels {
  if (labels === undefined) return {};
  if (typeof labels !== 'object' || labels === null || Array.isArray(labels))
    throw new InvalidArgumentError('labels: must be an object of strings');
  for (const [key, value] of Object.entries(labels)) {
    if (typeof value !== 'string' || value.length > 256 || key.length === 0 || key.length > 63)
      throw new InvalidArgumentError(`labels.${key}: keys of 1-63 characters, values strings of at most 256`);
  }
  return { ...(labels as Labels) };
}
