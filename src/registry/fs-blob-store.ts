/**
 * {@link BlobStore} on the local filesystem: `<root>/sha256/<first 2 hex>/<hex>`, with uploads in
 * progress under `<root>/tmp`. A blob appears under its name only after its bytes are fsynced and
 * the temp file is renamed into place (atomic on one filesystem, which is why `tmp` sits inside the
 * root), so a reader never sees a partial blob and an acknowledged put survives a crash.
 */
import { randomUUID } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { mkdir, open, readdir, rename, rm, stat, utimes } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { InsufficientStorageError, InvalidArgumentError, isStorageFull, NotFoundError } from '../core/errors.js';
import { spoolAndHash, sweepSpool } from './spool.js';
import {
  type BlobBody,
  type BlobInfo,
  type BlobStore,
  checkDigest,
  type Digest,
  type PutOptions,
  type StoredBlob,
} from './blob-store.js';
import { isSha256Digest } from '../core/resources.js';

const TEMP_SUFFIX = '.part';
// Blobs never change once stored; read-only files catch a tool that tries.
const BLOB_MODE = 0o444;

function isErrno(err: unknown, ...codes: string[]): boolean {
  return typeof err === 'object' && err !== null && codes.includes((err as NodeJS.ErrnoException).code ?? '');
}

// Makes a rename durable. Some platforms cannot fsync a directory; there the rename is as durable
// as the OS makes it.
async function syncDirectory(dir: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch (err) {
    if (!isErrno(err, 'EISDIR', 'EPERM', 'EINVAL', 'EBADF')) throw err;
  } finally {
    await handle?.close();
  }
}

/**
 * Content-addressed blobs under a directory.
 *
 * @example
 *   const blobs = new FsBlobStore(join(home, 'blobs'));
 *   const { digest, size } = await blobs.put(request, { maxBytes: 1 << 30 });
 */
export class FsBlobStore implements BlobStore {
  readonly local = true;
  readonly #root: string;
  readonly #tmp: string;

  constructor(root: string) {
    this.#root = root;
    this.#tmp = join(root, 'tmp');
  }

  /** Where a blob lives; `digest` must already be checked. */
  #file(digest: Digest): string {
    const hex = digest.slice('sha256:'.length);
    return join(this.#root, 'sha256', hex.slice(0, 2), hex);
  }

  async put(body: BlobBody, options: PutOptions): Promise<BlobInfo> {
    const { maxBytes } = options;
    if (!Number.isSafeInteger(maxBytes) || maxBytes < 0) {
      throw new InvalidArgumentError(`maxBytes: must be a non-negative integer, got ${maxBytes}`);
    }
    await mkdir(this.#tmp, { recursive: true });
    const temp = join(this.#tmp, `${randomUUID()}${TEMP_SUFFIX}`);
    try {
      const { digest, size } = await spoolAndHash(body, temp, { maxBytes, mode: BLOB_MODE, sync: true });
      const target = this.#file(digest);
      if (await this.#exists(target)) {
        // Same name, same bytes: keep the stored copy (it may be open for reading). Touch it so
        // that a sweep's grace period (ModelRegistry.sweepLeftovers) covers this push too.
        await rm(temp, { force: true });
        const now = new Date();
        await utimes(target, now, now).catch(() => undefined);
      } else {
        await mkdir(dirname(target), { recursive: true });
        await rename(temp, target);
        await syncDirectory(dirname(target));
      }
      return { digest, size };
    } catch (err) {
      await rm(temp, { force: true });
      if (isStorageFull(err))
        throw new InsufficientStorageError(
          `body: not stored: the registry's disk is full (${(err as NodeJS.ErrnoException).code}: no space left on the device); nothing of it was kept`,
          { cause: err },
        );
      throw err;
    }
  }

  async has(digest: string): Promise<boolean> {
    return this.#exists(this.#file(checkDigest(digest)));
  }

  async stat(digest: string): Promise<BlobInfo> {
    const checked = checkDigest(digest);
    try {
      const s = await stat(this.#file(checked));
      return { digest: checked, size: s.size };
    } catch (err) {
      throw this.#notFound(err, checked);
    }
  }

  async open(digest: string): Promise<Readable> {
    const checked = checkDigest(digest);
    try {
      const handle = await open(this.#file(checked), 'r');
      return handle.createReadStream();
    } catch (err) {
      throw this.#notFound(err, checked);
    }
  }

  /**
   * Where the blob's file is or would be, without touching the disk: for callers that need a path
   * synchronously (the deployment controller hands it to the local runtime, which verifies the
   * file's digest before starting a replica). Still rejects a malformed digest.
   */
  pathOf(digest: string): string {
    return this.#file(checkDigest(digest));
  }

  async path(digest: string): Promise<string> {
    const checked = checkDigest(digest);
    const file = this.#file(checked);
    if (!(await this.#exists(file))) throw new NotFoundError(`blob ${checked} not found`);
    return file;
  }

  async delete(digest: string): Promise<boolean> {
    const file = this.#file(checkDigest(digest));
    try {
      await rm(file);
      return true;
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return false;
      throw err;
    }
  }

  /** Every blob under the root, with its file's modification time. */
  async list(): Promise<StoredBlob[]> {
    const base = join(this.#root, 'sha256');
    const out: StoredBlob[] = [];
    let prefixes: string[];
    try {
      prefixes = await readdir(base);
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return out;
      throw err;
    }
    for (const prefix of prefixes) {
      const names = await readdir(join(base, prefix)).catch(() => [] as string[]);
      for (const hex of names) {
        const digest = `sha256:${hex}`;
        // Anything else in the tree (a stray file) is not a blob and is left alone.
        if (!isSha256Digest(digest) || hex.slice(0, 2) !== prefix) continue;
        const s = await stat(join(base, prefix, hex)).catch(() => undefined);
        if (s?.isFile()) out.push({ digest: digest as Digest, modifiedMs: s.mtimeMs });
      }
    }
    return out;
  }

  /**
   * Removes temp files of uploads that a crash cut short. Only files older than `olderThanMs` go,
   * since another process may be uploading into the same root right now. Returns how many went.
   */
  async sweepTemp(options: { olderThanMs: number }): Promise<number> {
    return sweepSpool(this.#tmp, TEMP_SUFFIX, options.olderThanMs);
  }

  async #exists(file: string): Promise<boolean> {
    try {
      await stat(file);
      return true;
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return false;
      throw err;
    }
  }

  #notFound(err: unknown, digest: Digest): unknown {
    return isErrno(err, 'ENOENT') ? new NotFoundError(`blob ${digest} not found`) : err;
  }
}
