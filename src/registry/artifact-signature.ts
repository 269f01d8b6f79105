/**
 * Reading a pushed artifact's signature: the blob as a local file (a remote store's blob is copied
 * to a temp file first, since model runtimes read from a path), handed to the workload kind that
 * runs it. The kind validates the artifact by loading it the way its replicas will; the registry
 * knows nothing of any model format.
 */
import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Signature, WorkloadKind } from '../workloads/workload-kind.js';
import type { BlobStore, Digest } from './blob-store.js';

export type { Signature } from '../workloads/workload-kind.js';

/**
 * The signature `kind` reads from the blob; throws what the kind throws for an artifact it cannot
 * run (`INVALID_ARGUMENT` on `artifact`).
 *
 * @example
 *   const signature = await readSignature(blobs, digest, { name: 'readmission', version: '1.4.0' }, kind);
 */
export async function readSignature(
  blobs: BlobStore,
  digest: Digest,
  id: { name: string; version: string },
  kind: Pick<WorkloadKind, 'readSignature' | 'artifactExtension'>,
): Promise<Signature> {
  const local = blobs.local ? await blobs.path(digest) : undefined;
  if (local !== undefined) return kind.readSignature(local, id);
  const dir = await mkdtemp(join(tmpdir(), 'wharf-artifact-'));
  try {
    const file = join(dir, `${randomUUID()}${kind.artifactExtension}`);
    await pipeline(await blobs.open(digest), createWriteStream(file));
    return await kind.readSignature(file, id);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
