/**
 * What a model pod's init container does (`wharf fetch-artifact`): download the artifact from the
 * Wharf registry by digest and verify its sha256 while it streams, so the server container starts
 * only on the exact bytes of the model version. The file appears at `out` only once verified
 * (written beside it, then renamed), so a restarted init container never sees half a model.
 */
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { InvalidArgumentError } from '../../core/errors.js';
import { isSha256Digest } from '../../core/resources.js';

/** Options of {@link fetchArtifact}. */
export interface FetchArtifactOptions {
  readonly url: string;
  /** `sha256:<64 hex>` the bytes must hash to. */
  readonly digest: string;
  readonly out: string;
  /** Attempts for network errors and 5xx answers (default 5), with doubling delays from 500 ms. */
  readonly attempts?: number;
  readonly log?: (line: string) => void;
  /** Bearer token for the registry (default: env WHARF_PULL_TOKEN, which pods get from a Secret). */
  readonly token?: string;
}

/** The artifact's digest did not match: never retried, the pod must not start. */
export class DigestMismatchError extends Error {
  readonly code = 'DIGEST_MISMATCH';
}

/** Downloads and verifies; resolves with the byte count. */
export async function fetchArtifact(options: FetchArtifactOptions): Promise<number> {
  if (!isSha256Digest(options.digest))
    throw new InvalidArgumentError(`--digest: must be sha256:<64 lowercase hex digits>, got ${options.digest}`);
  if (!/^https?:\/\//.test(options.url))
    throw new InvalidArgumentError(`--url: must be an http(s) URL, got ${options.url}`);
  const attempts = options.attempts ?? 5;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fetchOnce(options);
    } catch (err) {
      const retryable = !(err instanceof DigestMismatchError) && !(err instanceof InvalidArgumentError);
      if (!retryable || attempt >= attempts) throw err;
      const wait = 500 * 2 ** (attempt - 1);
      options.log?.(`fetch-artifact: attempt ${attempt} failed (${(err as Error).message}); retrying in ${wait} ms`);
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }
}

async function fetchOnce(options: FetchArtifactOptions): Promise<number> {
  // The pod's pull token (a Kubernetes Secret, as env WHARF_PULL_TOKEN; see manifests/pod-template.ts).
  const token = (options.token ?? process.env.WHARF_PULL_TOKEN)?.trim();
  const res = await fetch(options.url, {
    signal: AbortSignal.timeout(10 * 60_000),
    ...(token ? { headers: { authorization: `Bearer ${token}` } } : {}),
  });
  if (!res.ok || !res.body) {
    await res.body?.cancel();
    const message = `GET ${options.url} answered ${res.status}`;
    // 4xx other than 408/429 will not get better by retrying.
    if (res.status >= 400 && res.status < 500 && res.status !== 408 && res.status !== 429)
      throw new InvalidArgumentError(message);
    throw new Error(message);
  }
  await mkdir(dirname(options.out), { recursive: true });
  const partial = `${options.out}.partial`;
  const hash = createHash('sha256');
  let bytes = 0;
  const tap = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      bytes += chunk.length;
      callback(null, chunk);
    },
  });
  try {
    await pipeline(Readable.fromWeb(res.body as never), tap, createWriteStream(partial));
    const actual = `sha256:${hash.digest('hex')}`;
    if (actual !== options.digest)
      throw new DigestMismatchError(`artifact from ${options.url} has digest ${actual}, expected ${options.digest}`);
    await rename(partial, options.out);
    return bytes;
  } finally {
    await rm(partial, { force: true });
  }
}
