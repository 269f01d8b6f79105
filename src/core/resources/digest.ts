/**
 * Content digests as resources spell them (`sha256:` and 64 lowercase hex digits). Pure.
 */

/** True for `sha256:` followed by 64 lowercase hex digits. */
export function isSha256Digest(value: string): value is `sha256:${string}` {
  return /^sha256:[0-9a-f]{64}$/.test(value);
}
