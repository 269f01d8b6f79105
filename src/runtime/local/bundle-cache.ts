/**
 * Unpacked application bundles: each bundle tarball is verified against its digest and unpacked
 * once per digest into `<stateDir>/bundles/<hex>/`, which every replica of every revision that
 * runs it shares (read as is; a replica that writes into it writes for all, as on one machine).
 * An unpack goes to a temporary folder first and is renamed into place only when complete, so a
 * crash mid-unpack leaves nothing a later start would take for a bundle. Only regular files,
 * folders and symbolic links are unpacked; paths that leave the folder (`..`, absolute) are
 * refused by `tar` itself (its default, `preservePaths: false`).
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { extract } from 'tar';
import type { ArtifactVerifier, DigestCheck } from './artifact-digest.js';

/** How an unpack went: the folder, or why there is none (the replica is not started). */
export type BundleUnpack =
  | { readonly ok: true; readonly dir: string; readonly check: DigestCheck }
  | { readonly ok: false; readonly check: DigestCheck; readonly message: string };

const BUNDLE = { noun: 'bundle', field: 'bundle' };
const ALLOWED_TYPES = new Set(['File', 'OldFile', 'ContiguousFile', 'Directory', 'SymbolicLink']);

/** The bundles of one runtime. */
export class BundleCache {
  /** Unpacks under way, by digest: replicas starting together share one. */
  private readonly pending = new Map<string, Promise<BundleUnpack>>();

  constructor(
    private readonly root: string,
    private readonly verifier: ArtifactVerifier,
  ) {}

  /** Where the bundle of `digest` is (or would be) unpacked. */
  dirOf(digest: string): string {
    return join(this.root, digest.slice('sha256:'.length));
  }

  /** The unpacked folder of the tarball at `artifactPath`, checked against `digest` first. */
  unpack(artifactPath: string, digest: string): Promise<BundleUnpack> {
    const running = this.pending.get(digest);
    if (running !== undefined) return running;
    const work = this.unpackOnce(artifactPath, digest).finally(() => this.pending.delete(digest));
    this.pending.set(digest, work);
    return work;
  }

  private async unpackOnce(artifactPath: string, digest: string): Promise<BundleUnpack> {
    // Verified at every start (cached by file identity), like a model: the tarball on disk is
    // what the folder was made from, and a swapped one must not run under the old digest.
    const check = await this.verifier.verify(artifactPath, digest, BUNDLE);
    if (!check.ok) return { ok: false, check, message: check.message };
    const dir = this.dirOf(digest);
    if (existsSync(dir)) return { ok: true, dir, check };
    const temp = join(this.root, `.unpack-${randomBytes(6).toString('hex')}`);
    try {
      await mkdir(temp, { recursive: true });
      await extract({
        file: artifactPath,
        cwd: temp,
        strict: true,
        filter: (_path, entry) => ALLOWED_TYPES.has((entry as { type?: string }).type ?? 'File'),
      });
      await rename(temp, dir).catch(async (err: NodeJS.ErrnoException) => {
        // Another runtime on this state directory cannot exist (it is locked); a leftover folder
        // of the same digest from before a crash holds the same bytes.
        if (err.code !== 'ENOTEMPTY' && err.code !== 'EEXIST') throw err;
        await rm(temp, { recursive: true, force: true });
      });
      return { ok: true, dir, check };
    } catch (err) {
      await rm(temp, { recursive: true, force: true }).catch(() => undefined);
      const message = `bundle ${digest} could not be unpacked: ${(err as Error).message}`;
      return { ok: false, check: { ok: false, reason: 'ArtifactMissing', message }, message };
    }
  }

  /** Removes unpack folders a crash left behind (called at start, under the state lock, before any replica). */
  sweep(): void {
    let names: string[];
    try {
      names = readdirSync(this.root);
    } catch {
      return;
    }
    for (const name of names)
      if (name.startsWith('.unpack-')) rmSync(join(this.root, name), { recursive: true, force: true });
  }
}
