/**
 * Local copies of remote blobs: what the local runtime and ONNX Runtime open when the registry
 * lives in object storage. A blob is downloaded once into a file system blob store on this
 * machine, its digest checked on the way in, and served from there afterwards; blobs never change,
 * so a cached copy never goes stale.
 */
import { InternalError } from '../core/errors.js';
import type { BlobStore } from './blob-store.js';
import { checkDigest } from './blob-store.js';
import type { FsBlobStore } from './fs-blob-store.js';

/**
 * A read-through cache of `remote` in `local`.
 *
 * @example
 *   const cache = new BlobCache(s3Blobs, new FsBlobStore(join(home, 'blob-cache')));
 *   const file = await cache.pathOf(version.artifact.digest); // downloads it the first time
 */
export class BlobCache {
  readonly #remote: BlobStore;
  readonly #local: FsBlobStore;
  // One download per digest at a time: concurrent callers wait for the same one.
  readonly #fetching = new Map<string, Promise<string>>();

  constructor(remote: BlobStore, local: FsBlobStore) {
    this.#remote = remote;
    this.#local = local;
  }

  /** The path of a local copy of the blob, downloaded first if there is none; `NOT_FOUND` if the remote has none. */
  async pathOf(digest: string): Promise<string> {
    const checked = checkDigest(digest);
    if (await this.#local.has(checked)) return this.#local.pathOf(checked);
    let fetching = this.#fetching.get(checked);
    if (fetching === undefined) {
      fetching = this.#download(checked).finally(() => this.#fetching.delete(checked));
      this.#fetching.set(checked, fetching);
    }
    return fetching;
  }

  async #download(digest: ReturnType<typeof checkDigest>): Promise<string> {
    const { size } = await this.#remote.stat(digest);
    const stored = await this.#local.put(await this.#remote.open(digest), { maxBytes: size });
    if (stored.digest !== digest) {
      // The bytes are stored under what they hash to, so nothing can use them by the wrong name; drop them.
      await this.#local.delete(stored.digest);
      throw new InternalError(`blob ${digest}: the object store returned bytes that hash to ${stored.digest}`);
    }
    return this.#local.pathOf(digest);
  }
}
