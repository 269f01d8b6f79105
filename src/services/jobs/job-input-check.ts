/**
 * What the jobs service checks of a local input before it accepts a job, reading as little as it
 * can: that the path exists, and for CSV that the header (its first line only, gunzipped when the
 * file is gzip) names the columns the job uses, as many as the model's input takes. Each failure
 * is an `INVALID_ARGUMENT` naming the field, so a job that could never run is refused at create.
 * An `s3://bucket/prefix` input is checked by listing one object under it (endpoint and credentials
 * from the usual AWS variables, as the workers read them): an unreadable bucket or an empty prefix is
 * refused the same way.
 */
import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { createGunzip } from 'node:zlib';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { InvalidArgumentError } from '../../core/errors.js';
import type { JobInput, JobOutput } from '../../core/resources.js';

/** The most bytes read to find a CSV header. */
const MAX_HEADER_BYTES = 1024 * 1024;

/** Checks the input (see the module comment); `width` is the model's features per row, when known. */
export async function checkLocalInput(input: JobInput, output: JobOutput, width: number | undefined): Promise<void> {
  if (input.url.startsWith('s3://')) return checkS3Input(input.url);
  const file = await firstFile(input.url);
  if (input.format !== 'csv') return;
  const gzip = input.compression === 'gzip' || (input.compression !== 'none' && (await isGzip(file)));
  const header = splitCsvLine(await firstLine(file, gzip));
  const known = new Set(header);
  for (const [field, names] of [
    ['input.columns', input.columns ?? []],
    ['output.joinColumns', output.joinColumns ?? []],
  ] as const) {
    const missing = names.filter((c) => !known.has(c));
    if (missing.length > 0)
      throw new InvalidArgumentError(
        `${field}: ${missing.map((c) => JSON.stringify(c)).join(', ')} not in the input's header (${header.length} columns)`,
      );
  }
  if (input.idField !== undefined && !known.has(input.idField))
    throw new InvalidArgumentError(
      `input.idField: ${JSON.stringify(input.idField)} is not a column of the input's header`,
    );
  const features = input.columns?.length ?? header.filter((c) => c !== input.idField).length;
  if (width !== undefined && features !== width)
    throw new InvalidArgumentError(
      `input.columns: the model takes ${width} features per row, the input has ${features} feature columns`,
    );
}

async function firstFile(url: string): Promise<string> {
  const info = await stat(url).catch(() => undefined);
  if (info === undefined) throw new InvalidArgumentError(`input.url: ${url} does not exist`);
  if (info.isFile()) return url;
  if (!info.isDirectory()) throw new InvalidArgumentError(`input.url: ${url} is neither a file nor a directory`);
  const names = (await readdir(url, { withFileTypes: true })).filter((e) => e.isFile()).map((e) => e.name);
  names.sort();
  if (names[0] === undefined) throw new InvalidArgumentError(`input.url: the directory ${url} holds no files`);
  return join(url, names[0]);
}

async function isGzip(file: string): Promise<boolean> {
  if (file.endsWith('.gz')) return true;
  for await (const chunk of createReadStream(file, { start: 0, end: 1 })) {
    const b = chunk as Buffer;
    return b[0] === 0x1f && b[1] === 0x8b;
  }
  return false;
}

async function firstLine(file: string, gzip: boolean): Promise<string> {
  const raw = createReadStream(file, { end: gzip ? undefined : MAX_HEADER_BYTES });
  const stream = gzip ? raw.pipe(createGunzip()) : raw;
  let text = '';
  try {
    for await (const chunk of stream) {
      text += (chunk as Buffer).toString('utf8');
      const nl = text.indexOf('\n');
      if (nl >= 0) return text.slice(0, nl).replace(/\r$/, '');
      if (text.length > MAX_HEADER_BYTES) break;
    }
  } catch (e) {
    throw new InvalidArgumentError(`input.url: cannot read ${file} (${(e as Error).message})`);
  } finally {
    raw.destroy();
  }
  if (text === '') throw new InvalidArgumentError(`input.url: ${file} is empty (a CSV input needs a header)`);
  return text;
}

/** A CSV line's fields (RFC 4180 quotes). */
function splitCsvLine(line: string): string[] {
  const out: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      out.push(field);
      field = '';
    } else field += c;
  }
  out.push(field);
  return out.map((f) => f.trim());
}

let s3: S3Client | undefined;

async function checkS3Input(url: string): Promise<void> {
  const match = /^s3:\/\/([^/]+)\/?(.*)$/.exec(url)!;
  const [bucket, prefix] = [match[1]!, match[2]!];
  const endpoint = process.env.AWS_ENDPOINT_URL;
  s3 ??= new S3Client({
    region: process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1',
    ...(endpoint ? { endpoint, forcePathStyle: true } : {}),
  });
  let count: number;
  try {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, MaxKeys: 1 }));
    count = page.KeyCount ?? page.Contents?.length ?? 0;
  } catch (e) {
    // The SDK's error name (NoSuchBucket, AccessDenied, …) says why; its message may carry request details.
    throw new InvalidArgumentError(
      `input.url: the bucket ${JSON.stringify(bucket)} cannot be read (${(e as Error).name})`,
    );
  }
  if (count === 0) throw new InvalidArgumentError(`input.url: no object under ${url}`);
}
