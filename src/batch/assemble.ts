/**
 * Assembles the committed parts, in order, into the job's output (a local file or an S3 object) and
 * its error file. Assembly only reads parts and replaces its target atomically (a temporary file
 * renamed into place; an S3 object appears only when its upload completes), so it can run again
 * after a crash and give the same bytes.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, rename } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { partPath } from './checkpoint.js';

/** The bytes of `header` and then of parts 1..count of `kind`, streamed. */
export async function* partBytes(
  workDir: string,
  count: number,
  kind: 'out' | 'err',
  header = '',
): AsyncGenerator<Buffer> {
  if (header !== '') yield Buffer.from(header);
  for (let n = 1; n <= count; n++) {
    for await (const chunk of createReadStream(partPath(workDir, n, kind), { highWaterMark: 1024 * 1024 }))
      yield chunk as Buffer;
  }
}

/** Writes `chunks` to `url` (local path or `s3://bucket/key`), replacing it atomically. */
export async function writeTarget(url: string, chunks: AsyncIterable<Buffer>): Promise<void> {
  if (url.startsWith('s3://')) {
    const { writeS3Object } = await import('./s3-data.js'); // loaded only for S3 data, as in input-files.ts
    return writeS3Object(url, chunks);
  }
  await mkdir(dirname(url), { recursive: true });
  // One name, not one per process: a worker killed while assembling leaves this file, and the next
  // one overwrites it rather than leaving it beside the user's output for good.
  const temp = `${url}.wharf-partial`;
  await pipeline(Readable.from(chunks), createWriteStream(temp));
  const handle = await open(temp, 'r+');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temp, url);
}
