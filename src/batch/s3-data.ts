/**
 * Job data on S3-compatible storage, with @aws-sdk/client-s3: list the objects under a prefix, read
 * one as a stream, and write an output as a stream (multipart upload in bounded parts, so an output
 * of any size passes through a few MiB of memory). Endpoint and credentials come from the usual
 * variables: AWS_ENDPOINT_URL (path-style addressing when set, as MinIO and s3rver want),
 * AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION (default us-east-1).
 */
import type { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';

/** True for `s3://…` URLs. */
export function isS3Url(url: string): boolean {
  return url.startsWith('s3://');
}

/** Bucket and key (or prefix) of an `s3://bucket/key` URL. */
export function parseS3Url(url: string): { bucket: string; key: string } {
  const match = /^s3:\/\/([^/]+)\/?(.*)$/.exec(url);
  if (!match) throw new Error(`${url} is not an s3://bucket/key URL`);
  return { bucket: match[1]!, key: match[2]! };
}

let client: S3Client | undefined;

/** The process's one S3 client, configured from the environment. */
export function s3Client(env: NodeJS.ProcessEnv = process.env): S3Client {
  if (!client) {
    const endpoint = env.AWS_ENDPOINT_URL;
    client = new S3Client({
      region: env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1',
      ...(endpoint ? { endpoint, forcePathStyle: true } : {}),
    });
  }
  return client;
}

/** The objects under an `s3://bucket/prefix`, in key order ("directories" excluded). */
export async function listS3Objects(url: string): Promise<{ bucket: string; key: string; url: string }[]> {
  const { bucket, key: prefix } = parseS3Url(url);
  const found: { bucket: string; key: string; url: string }[] = [];
  let token: string | undefined;
  do {
    const page = await s3Client().send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
    );
    for (const o of page.Contents ?? [])
      if (o.Key !== undefined && !o.Key.endsWith('/'))
        found.push({ bucket, key: o.Key, url: `s3://${bucket}/${o.Key}` });
    token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
  } while (token !== undefined);
  // S3 lists in UTF-8 binary order already; sorting keeps that true of stores that do not.
  return found.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/** One object's bytes as a stream. */
export async function openS3Object(bucket: string, key: string): Promise<Readable> {
  const answer = await s3Client().send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  if (!answer.Body) throw new Error(`s3://${bucket}/${key} has no body`);
  return answer.Body as Readable;
}

/** Multipart part size: S3's minimum is 5 MiB for every part but the last. */
const PART_BYTES = 8 * 1024 * 1024;

/**
 * Writes `chunks` to `url`: one PUT when it all fits in one part, else a multipart upload (aborted
 * on failure, so no half-written object appears under the key: S3 shows an object only once complete).
 */
export async function writeS3Object(
  url: string,
  chunks: AsyncIterable<Buffer>,
  { partBytes = PART_BYTES }: { partBytes?: number } = {},
): Promise<void> {
  const { bucket, key } = parseS3Url(url);
  const s3 = s3Client();
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let uploadId: string | undefined;
  const parts: { ETag: string | undefined; PartNumber: number }[] = [];
  const flush = async (): Promise<void> => {
    if (uploadId === undefined) {
      const created = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }));
      uploadId = created.UploadId;
    }
    const body = Buffer.concat(pending);
    pending = [];
    pendingBytes = 0;
    const PartNumber = parts.length + 1;
    const answer = await s3.send(
      new UploadPartCommand({ Bucket: bucket, Key: key, UploadId: uploadId, PartNumber, Body: body }),
    );
    parts.push({ ETag: answer.ETag, PartNumber });
  };
  try {
    for await (const chunk of chunks) {
      pending.push(chunk);
      pendingBytes += chunk.length;
      if (pendingBytes >= partBytes) await flush();
    }
    if (uploadId === undefined) {
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: Buffer.concat(pending) }));
      return;
    }
    if (pendingBytes > 0) await flush();
    await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: bucket,
        Key: key,
        UploadId: uploadId,
        MultipartUpload: { Parts: parts },
      }),
    );
  } catch (err) {
    if (uploadId !== undefined)
      await s3.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId })).catch(() => {});
    throw err;
  }
}
