/**
 * {@link BlobStore} on S3-compatible object storage (AWS S3, MinIO, Ceph, s3rver): blobs are objects
 * `<prefix>sha256/<hex>` in one bucket, so several control planes on PostgreSQL share a registry
 * without a shared volume.
 *
 * An upload is hashed while it streams into a spool file on this machine (bounded by `maxBytes`),
 * then sent with one PutObject under its digest's name. S3 makes an object visible only once its
 * PutObject succeeds, so a reader never sees a partial blob, and a push cut short leaves at most a
 * spool file (swept like the file system store's temp files), never an object.
 *
 * The client is `@aws-sdk/client-s3`, the SDK AWS maintains: it signs requests, retries throttling
 * and reads endpoint, region and credentials the usual AWS ways (`AWS_ENDPOINT_URL`, `AWS_REGION`,
 * `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY`, profiles, instance roles).
 */
import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { InvalidArgumentError, NotFoundError, UnavailableError } from '../core/errors.js';
import { isSha256Digest } from '../core/resources.js';
import {
  type BlobBody,
  type BlobInfo,
  type BlobStore,
  checkDigest,
  type Digest,
  type PutOptions,
  type StoredBlob,
} from './blob-store.js';
import { type S3Location, parseS3Url } from './s3-url.js';
import { spoolAndHash, sweepSpool } from './spool.js';

const SPOOL_SUFFIX = '.part';

/** Where the store keeps its objects and how it reaches them. */
export interface S3BlobStoreOptions {
  /** `s3://bucket/prefix`: objects go under `prefix/sha256/`. */
  readonly url: string;
  /** Uploads are hashed into files here before they are sent (default: the OS temp directory). */
  readonly spoolDir: string;
  /**
   * Client settings; by default the SDK's own chain (environment, profile, instance role). An
   * explicit `endpoint` (or `AWS_ENDPOINT_URL`) switches to path-style addressing, which
   * S3-compatible servers expect.
   */
  readonly client?: S3ClientConfig;
}

/**
 * The S3 client settings for `env` (the process environment by default): path-style addressing
 * and checksums only when required once a custom endpoint is set, because S3-compatible servers
 * (MinIO, s3rver) do not all accept the SDK's newer default of streaming checksums.
 */
export function s3ClientConfig(env: NodeJS.ProcessEnv = process.env): S3ClientConfig {
  const endpoint = env.AWS_ENDPOINT_URL_S3 ?? env.AWS_ENDPOINT_URL;
  return {
    region: env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1',
    ...(endpoint === undefined || endpoint === ''
      ? {}
      : {
          endpoint,
          forcePathStyle: true,
          requestChecksumCalculation: 'WHEN_REQUIRED',
          responseChecksumValidation: 'WHEN_REQUIRED',
        }),
  };
}

/**
 * Content-addressed blobs in an S3 bucket.
 *
 * @example
 *   const blobs = new S3BlobStore({ url: 's3://wharf-registry/prod/', spoolDir: join(home, 'spool') });
 *   const { digest } = await blobs.put(request, { maxBytes: 1 << 30 });
 */
export class S3BlobStore implements BlobStore {
  readonly local = false;
  readonly location: S3Location;
  readonly #client: S3Client;
  readonly #spool: string;

  constructor(options: S3BlobStoreOptions) {
    this.location = parseS3Url(options.url, 'blobStore');
    this.#client = new S3Client(options.client ?? s3ClientConfig());
    this.#spool = options.spoolDir;
  }

  /** The object key of a blob; `digest` must already be checked. */
  #key(digest: Digest): string {
    return `${this.location.prefix}sha256/${digest.slice('sha256:'.length)}`;
  }

  async put(body: BlobBody, options: PutOptions): Promise<BlobInfo> {
    const { maxBytes } = options;
    if (!Number.isSafeInteger(maxBytes) || maxBytes < 0)
      throw new InvalidArgumentError(`maxBytes: must be a non-negative integer, got ${maxBytes}`);
    await mkdir(this.#spool, { recursive: true });
    const spool = join(this.#spool, `${randomUUID()}${SPOOL_SUFFIX}`);
    try {
      const { digest, size } = await spoolAndHash(body, spool, { maxBytes, mode: 0o600, sync: false });
      // Sent even when the object exists: S3 has no touch, and a fresh LastModified is what keeps the
      // registry's sweep of unreferenced blobs (which spares recent ones) off a blob pushed again
      // whose version record is not written yet. Same key, same bytes: readers see no change.
      {
        await this.#client.send(
          new PutObjectCommand({
            Bucket: this.location.bucket,
            Key: this.#key(digest),
            Body: createReadStream(spool),
            ContentLength: size,
            ContentType: 'application/octet-stream',
          }),
        );
      }
      return { digest, size };
    } finally {
      await rm(spool, { force: true });
    }
  }

  async has(digest: string): Promise<boolean> {
    return (await this.#head(checkDigest(digest))) !== undefined;
  }

  async stat(digest: string): Promise<BlobInfo> {
    const checked = checkDigest(digest);
    const head = await this.#head(checked);
    if (head === undefined) throw new NotFoundError(`blob ${checked} not found`);
    return { digest: checked, size: head.size };
  }

  async open(digest: string): Promise<Readable> {
    const checked = checkDigest(digest);
    try {
      const answer = await this.#client.send(
        new GetObjectCommand({ Bucket: this.location.bucket, Key: this.#key(checked) }),
      );
      return answer.Body as Readable;
    } catch (err) {
      throw notFound(err) ? new NotFoundError(`blob ${checked} not found`) : err;
    }
  }

  async path(digest: string): Promise<undefined> {
    checkDigest(digest);
    return undefined;
  }

  async delete(digest: string): Promise<boolean> {
    const checked = checkDigest(digest);
    if (!(await this.has(checked))) return false;
    await this.#client.send(new DeleteObjectCommand({ Bucket: this.location.bucket, Key: this.#key(checked) }));
    return true;
  }

  /** Every blob under the prefix, with the time its object was last written. */
  async list(): Promise<StoredBlob[]> {
    const out: StoredBlob[] = [];
    const prefix = `${this.location.prefix}sha256/`;
    let token: string | undefined;
    do {
      const page = await this.#client.send(
        new ListObjectsV2Command({ Bucket: this.location.bucket, Prefix: prefix, ContinuationToken: token }),
      );
      for (const object of page.Contents ?? []) {
        const digest = `sha256:${(object.Key ?? '').slice(prefix.length)}`;
        // Anything else under the prefix is not a blob and is left alone.
        if (isSha256Digest(digest))
          out.push({ digest: digest as Digest, modifiedMs: object.LastModified?.getTime() ?? 0 });
      }
      token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
    return out;
  }

  /** Removes spool files of uploads that a crash cut short (older than `olderThanMs`). */
  async sweepTemp(options: { olderThanMs: number }): Promise<number> {
    return sweepSpool(this.#spool, SPOOL_SUFFIX, options.olderThanMs);
  }

  /**
   * Throws `UNAVAILABLE` naming the bucket and the cause unless the bucket can be listed with these
   * credentials: a wrong bucket or key then stops `wharf up` at start instead of failing each push.
   */
  async check(): Promise<void> {
    try {
      await this.#client.send(new ListObjectsV2Command({ Bucket: this.location.bucket, MaxKeys: 1 }));
    } catch (err) {
      const e = err as { name?: string; message?: string };
      throw new UnavailableError(
        `blob store s3://${this.location.bucket}/${this.location.prefix}: cannot list the bucket (${e.name ?? 'Error'}: ${e.message ?? String(err)})`,
      );
    }
  }

  /** Closes the client's connections. */
  close(): void {
    this.#client.destroy();
  }

  async #head(digest: Digest): Promise<{ size: number } | undefined> {
    try {
      const head = await this.#client.send(
        new HeadObjectCommand({ Bucket: this.location.bucket, Key: this.#key(digest) }),
      );
      return { size: head.ContentLength ?? 0 };
    } catch (err) {
      if (notFound(err)) return undefined;
      throw err;
    }
  }
}

// HeadObject answers a bare 404 (NotFound); GetObject names it NoSuchKey.
function notFound(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e?.name === 'NotFound' || e?.name === 'NoSuchKey' || e?.$metadata?.httpStatusCode === 404;
}
