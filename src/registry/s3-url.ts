/**
 * `s3://bucket/prefix` URLs, as `wharf up --blob-store` and job inputs and outputs name places in
 * S3-compatible storage. Pure.
 */
import { fail } from '../core/validation.js';

/** A bucket and a key prefix (empty, or ending in `/`). */
export interface S3Location {
  readonly bucket: string;
  readonly prefix: string;
}

// S3's bucket naming rules: 3-63 of lowercase letters, digits, '.', '-', starting and ending alphanumeric.
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** Throws `INVALID_ARGUMENT` on `field` unless `url` is `s3://bucket[/prefix]`. */
export function parseS3Url(url: unknown, field: string): S3Location {
  if (typeof url !== 'string' || !url.startsWith('s3://'))
    return fail(field, "must be an S3 URL such as 's3://bucket/prefix'", url);
  const rest = url.slice('s3://'.length);
  const slash = rest.indexOf('/');
  const bucket = slash === -1 ? rest : rest.slice(0, slash);
  if (!BUCKET.test(bucket)) return fail(field, "must name a bucket of 3-63 lowercase letters, digits, '.' or '-'", url);
  const path = slash === -1 ? '' : rest.slice(slash + 1).replace(/^\/+/, '');
  return { bucket, prefix: path === '' || path.endsWith('/') ? path : `${path}/` };
}
