/**
 * The files of a job's input, in the order their rows are read: a local file, every file of a local
 * directory in name order, or every object under an `s3://bucket/prefix` in key order. Each is opened
 * as a stream of its (decompressed) bytes; nothing here holds more than a chunk of a file at once.
 */
import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import type { BatchInput } from '../protocol/batch-task.js';

/** One file of the input. */
export interface InputFile {
  /** A name for error lines: the path or the object key. */
  readonly name: string;
  open(): Promise<Readable>;
}

/** The input is missing or unreadable: the task cannot run (not a bad row). */
export class InputUnavailableError extends Error {
  override readonly name = 'InputUnavailableError';
  readonly code = 'INPUT_UNAVAILABLE';
}

/** Lists the input's files; a directory or prefix with no file is refused, as is a missing path. */
export async function listInputFiles(url: string): Promise<InputFile[]> {
  if (url.startsWith('s3://')) {
    // Loaded only for S3 data: the AWS SDK takes a while to load, and most workers read local files.
    const { listS3Objects, openS3Object } = await import('./s3-data.js');
    const keys = await listS3Objects(url).catch((err: Error) => {
      // A bucket that does not exist will not appear on a retry; anything else (network, throttling) may.
      if (err.name === 'NoSuchBucket') throw new InputUnavailableError(`input ${url}: no such bucket`);
      throw err;
    });
    if (keys.length === 0) throw new InputUnavailableError(`input ${url}: no object under this prefix`);
    return keys.map((k) => ({ name: k.url, open: () => openS3Object(k.bucket, k.key) }));
  }
  const info = await stat(url).catch((err: NodeJS.ErrnoException) => {
    throw new InputUnavailableError(`input ${url}: ${err.code === 'ENOENT' ? 'no such file or directory' : err.code}`);
  });
  const local = (path: string): InputFile => ({
    name: path,
    open: () => Promise.resolve(createReadStream(path, { highWaterMark: 256 * 1024 })),
  });
  if (!info.isDirectory()) return [local(url)];
  // Hidden files (editor swap files, .DS_Store) are not data.
  const entries = (await readdir(url, { withFileTypes: true }))
    .filter((e) => e.isFile() && !e.name.startsWith('.'))
    .map((e) => e.name)
    .sort();
  if (entries.length === 0) throw new InputUnavailableError(`input ${url}: the directory holds no file`);
  return entries.map((name) => local(join(url, name)));
}

const GZIP_MAGIC = [0x1f, 0x8b] as const;

/**
 * The bytes of `file`, gunzipped when `compression` says so (`auto`: the name ends in `.gz` or the
 * first bytes are gzip's magic). Iterating the result pulls from the file as it goes (backpressure).
 */
export async function* fileBytes(file: InputFile, compression: BatchInput['compression']): AsyncGenerator<Buffer> {
  const raw = await file.open();
  const chunks = raw[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  const first = await chunks.next();
  if (first.done === true) return;
  const head = first.value;
  const gzip =
    compression === 'gzip' ||
    ((compression ?? 'auto') === 'auto' &&
      (file.name.endsWith('.gz') || (head[0] === GZIP_MAGIC[0] && head[1] === GZIP_MAGIC[1])));
  async function* all(): AsyncGenerator<Buffer> {
    yield head;
    for (let next = await chunks.next(); next.done !== true; next = await chunks.next()) yield next.value;
  }
  // finally: a reader that stops early (the error threshold was passed) still closes the file.
  try {
    if (!gzip) {
      yield* all();
      return;
    }
    const gunzip = Readable.from(all()).pipe(createGunzip({ chunkSize: 256 * 1024 }));
    try {
      for await (const chunk of gunzip) yield chunk as Buffer;
    } catch (err) {
      throw new InputUnavailableError(`input ${file.name}: not valid gzip (${(err as Error).message})`, {
        cause: err,
      });
    }
  } finally {
    raw.destroy();
  }
}
