/**
 * Which blob store the registry uses: files under `<home>/blobs` (the default), or S3-compatible
 * object storage for `--blob-store s3://bucket/prefix`, where the local runtime's replicas read
 * artifacts from a local cache (`<home>/blob-cache`) filled on first use.
 */
import { join } from 'node:path';
import { BlobCache } from '../registry/blob-cache.js';
import type { BlobStore } from '../registry/blob-store.js';
import { FsBlobStore } from '../registry/fs-blob-store.js';

/** The registry's blob store and how a replica on this machine finds an artifact's file. */
export interface BlobStoreSelection {
  readonly blobs: BlobStore;
  artifactPath(digest: string): string | Promise<string>;
  /** Fails with what is wrong when the store cannot be used (an S3 bucket that is not there or not ours). */
  check(): Promise<void>;
  close(): void;
}

/** The blob store `options.blobStore` names (see the module comment). */
export async function openBlobStore(options: { home: string; blobStore?: string }): Promise<BlobStoreSelection> {
  if (options.blobStore === undefined || options.blobStore === '') {
    const blobs = new FsBlobStore(join(options.home, 'blobs'));
    return {
      blobs,
      artifactPath: (digest) => blobs.pathOf(digest),
      check: async () => undefined,
      close: () => undefined,
    };
  }
  // Loaded only when named: the AWS SDK is large, and a default `wharf up` never needs it.
  const { S3BlobStore } = await import('../registry/s3-blob-store.js');
  const blobs = new S3BlobStore({ url: options.blobStore, spoolDir: join(options.home, 'blob-spool') });
  const cache = new BlobCache(blobs, new FsBlobStore(join(options.home, 'blob-cache')));
  return {
    blobs,
    artifactPath: (digest) => cache.pathOf(digest),
    check: () => blobs.check(),
    close: () => blobs.close(),
  };
}
