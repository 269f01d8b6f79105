/**
 * Where model artifacts live: an immutable, content-addressed store of byte blobs, named by their
 * sha256 digest. The filesystem implementation (`fs-blob-store.ts`) is the default; object storage
 * comes later behind the same interface, which is why callers branch on {@link BlobStore.local}
 * rather than on the class.
 *
 * Errors: `INVALID_ARGUMENT` for a malformed digest (every method checks it, so a digest can never
 * name a path outside the store), `NOT_FOUND` for an absent blob, `PAYLOAD_TOO_LARGE` from
 * {@link BlobStore.put}.
 */
import type { Readable } from 'node:stream';
import { InvalidArgumentError } from '../core/errors.js';
import { isSha256Digest } from '../core/resources.js';

/** `sha256:` followed by 64 lowercase hex digits. */
export type Digest = `sha256:${string}`;

/** What a stored blob is. */
export interface BlobInfo {
  digest: Digest;
  /** Size in bytes. */
  size: number;
}

/** Options of {@link BlobStore.put}. */
export interface PutOptions {
  /** The largest body accepted; checked while streaming, so an endless body stops early. */
  maxBytes: number;
}

/** A stored blob and when its bytes were last written (or last stored again). */
export interface StoredBlob {
  digest: Digest;
  modifiedMs: number;
}

/** Bytes to store: an HTTP request, a file stream, or any async iterable of chunks. */
export type BlobBody = Readable | AsyncIterable<Uint8Array>;

/** A content-addressed blob store. */
export interface BlobStore {
  /**
   * Blobs are files on this machine: {@link BlobStore.path} gives a path that ONNX Runtime and the
   * local runtime can open directly. False for remote stores (object storage).
   */
  readonly local: boolean;
  /**
   * Streams `body` into the store while hashing it and returns its digest and size. The blob becomes
   * visible only once complete and durable; storing bytes that are already there is a no-op that
   * returns the same digest. Throws `PAYLOAD_TOO_LARGE` as soon as more than `maxBytes` arrive; on
   * any failure nothing is left behind.
   */
  put(body: BlobBody, options: PutOptions): Promise<BlobInfo>;
  /** Whether the blob exists. */
  has(digest: string): Promise<boolean>;
  /** Its size; throws `NOT_FOUND`. */
  stat(digest: string): Promise<BlobInfo>;
  /** A stream of its bytes; throws `NOT_FOUND` before any byte is read. */
  open(digest: string): Promise<Readable>;
  /**
   * For a {@link BlobStore.local} store, the blob's file path (throws `NOT_FOUND`); for a remote one,
   * `undefined`. The file must be treated as read-only.
   */
  path(digest: string): Promise<string | undefined>;
  /** Removes the blob; returns false when it was not there. Callers make sure nothing references it. */
  delete(digest: string): Promise<boolean>;
  /** Every stored blob (for the registry's sweep of leftovers); stores that cannot list omit it. */
  list?(): Promise<StoredBlob[]>;
  /** Removes temp files of uploads cut short, older than `olderThanMs`; returns how many went. */
  sweepTemp?(options: { olderThanMs: number }): Promise<number>;
}

/**
 * Returns `digest` if it is well-formed, else throws `INVALID_ARGUMENT`. Implementations call this
 * first in every method: it is what keeps `sha256:../../etc` from becoming a path.
 */
export function checkDigest(digest: string): Digest {
  if (typeof digest !== 'string' || !isSha256Digest(digest)) {
    const shown = typeof digest === 'string' ? JSON.stringify(digest.slice(0, 80)) : typeof digest;
    throw new InvalidArgumentError(`digest: must be 'sha256:' followed by 64 lowercase hex digits, got ${shown}`);
  }
  return digest;
}
