/**
 * Writing an upload to a file while hashing it: what both blob stores do with a body before it
 * gets its name (the file system store renames the file into place; the S3 store sends it).
 */
import { createHash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { open, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { InvalidArgumentError, PayloadTooLargeError } from '../core/errors.js';
import type { BlobBody, BlobInfo } from './blob-store.js';

/**
 * Streams `body` into the new file `file` (created with `mode`) while hashing it; fsyncs it when
 * `sync`. Throws `PAYLOAD_TOO_LARGE` as soon as more than `maxBytes` arrive, `INVALID_ARGUMENT`
 * for a chunk that is not bytes. The caller removes the file on failure.
 */
export async function spoolAndHash(
  body: BlobBody,
  file: string,
  options: { maxBytes: number; mode: number; sync: boolean },
): Promise<BlobInfo> {
  const handle = await open(file, 'wx', options.mode);
  const hash = createHash('sha256');
  let size = 0;
  try {
    // Leaving this loop early (throw) calls the source's return(): a Readable is destroyed and a
    // generator finishes, so an oversized upload stops being read right away.
    for await (const chunk of body as AsyncIterable<unknown>) {
      if (!(chunk instanceof Uint8Array))
        throw new InvalidArgumentError('body: chunks must be bytes (Uint8Array), not strings or objects');
      size += chunk.byteLength;
      if (size > options.maxBytes)
        throw new PayloadTooLargeError(`body: larger than the limit of ${options.maxBytes} bytes`);
      hash.update(chunk);
      await writeAll(handle, chunk);
    }
    if (options.sync) await handle.sync();
  } finally {
    await handle.close();
  }
  return { digest: `sha256:${hash.digest('hex')}`, size };
}

async function writeAll(handle: FileHandle, chunk: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < chunk.byteLength) {
    const { bytesWritten } = await handle.write(chunk, offset, chunk.byteLength - offset);
    offset += bytesWritten;
  }
}

/**
 * Removes the files ending in `suffix` in `dir` older than `olderThanMs`: uploads a crash cut
 * short. Younger ones are left, since another process may be writing them right now. Returns how
 * many went; a missing `dir` has none.
 */
export async function sweepSpool(dir: string, suffix: string, olderThanMs: number): Promise<number> {
  const names = await readdir(dir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return [] as string[];
    throw err;
  });
  const cutoff = Date.now() - olderThanMs;
  let removed = 0;
  for (const name of names.filter((n) => n.endsWith(suffix))) {
    const file = join(dir, name);
    const s = await stat(file).catch(() => undefined);
    if (s !== undefined && s.mtimeMs < cutoff) {
      await rm(file, { force: true });
      removed++;
    }
  }
  return removed;
}
