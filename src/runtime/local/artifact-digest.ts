/**
 * Verifying a model artifact against the digest its ModelVersion recorded, before any replica
 * loads it: a file swapped or corrupted on disk must not be served under a version it is not.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';

/** Outcome of a verification; `reason` is a stable code for a status condition. */
export type DigestCheck =
  | { readonly ok: true; readonly message: string }
  | {
      readonly ok: false;
      readonly reason: 'ArtifactMissing' | 'DigestMismatch' | 'InvalidDigest';
      readonly message: string;
    };

const DIGEST = /^sha256:([0-9a-f]{64})$/;
const MODEL = { noun: 'model artifact', field: 'model' };

/**
 * Hashes artifacts with sha256 and remembers the result per (path, inode, size, mtime), so every
 * replica start re-checks the file without re-reading a large model that has not changed.
 */
export class ArtifactVerifier {
  private readonly cache = new Map<string, { readonly fingerprint: string; readonly hex: string }>();

  /**
   * Compares the sha256 of `path` with `digest` (`sha256:<64 lowercase hex>`); `what` names the
   * file in messages (`model artifact`, `bundle`) and its workload field (`model`, `bundle`).
   */
  async verify(path: string, digest: string, what: { noun: string; field: string } = MODEL): Promise<DigestCheck> {
    const expected = DIGEST.exec(digest)?.[1];
    if (expected === undefined) {
      return {
        ok: false,
        reason: 'InvalidDigest',
        message: `${what.field}.digest ${JSON.stringify(digest)} is not of the form sha256:<64 hex digits>`,
      };
    }
    let actual: string;
    try {
      actual = await this.sha256(path);
    } catch (err) {
      return {
        ok: false,
        reason: 'ArtifactMissing',
        message: `${what.noun} ${path} cannot be read: ${(err as Error).message}`,
      };
    }
    if (actual !== expected) {
      return {
        ok: false,
        reason: 'DigestMismatch',
        message: `${what.noun} ${path} has digest sha256:${actual}, expected ${digest}; refusing to start a replica on it`,
      };
    }
    return { ok: true, message: `${what.noun} ${path} matches ${digest}` };
  }

  private async sha256(path: string): Promise<string> {
    const s = await stat(path);
    const fingerprint = `${s.ino}:${s.size}:${s.mtimeMs}`;
    const cached = this.cache.get(path);
    if (cached?.fingerprint === fingerprint) return cached.hex;
    const hash = createHash('sha256');
    await pipeline(createReadStream(path), hash);
    const hex = hash.digest('hex');
    this.cache.set(path, { fingerprint, hex });
    return hex;
  }
}
