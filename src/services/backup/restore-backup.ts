/**
 * `wharf restore`: brings a backup archive (`manifest.ts`) back into an empty home (and, for
 * PostgreSQL, an empty database). Everything is checked before anything is written: the manifest,
 * every file's SHA-256 against it, every blob's bytes against its name; a file the manifest does not
 * name, a link or any other entry type is refused. The store is loaded last, in one transaction,
 * so a restore that fails leaves an empty home and an empty database, ready for another try.
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import * as tar from 'tar';
import type { BlobStore } from '../../registry/blob-store.js';
import { FsBlobStore } from '../../registry/fs-blob-store.js';
import type { StoreLocation } from '../../store/backup/raw-database.js';
import { DUMP_FILES, dumpChecksum, loadStore, TargetNotEmptyError } from '../../store/backup/store-dump.js';
import { HOME_FILES, homeFile } from './home-files.js';
import { ARCHIVE_PATHS, type BackupManifest, parseManifest } from './manifest.js';

/** What to restore where. */
export interface RestoreOptions {
  /** The archive `wharf backup` wrote. */
  archive: string;
  /** An empty (or absent) folder to become the home. */
  home: string;
  /** A PostgreSQL URL of an empty database; absent: SQLite in the home. */
  databaseUrl?: string;
  /** Where blobs go; default the home's file system store. */
  blobs?: BlobStore;
}

/** What a restore brought back. */
export interface RestoreResult {
  manifest: BackupManifest;
  /** Key files written into the home (only those the archive carried). */
  keysRestored: string[];
}

/** Blobs are checked here and again by the blob store's own hashing as it stores them. */
const MAX_BLOB_BYTES = Number.MAX_SAFE_INTEGER;

async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

async function assertEmptyHome(home: string): Promise<void> {
  if (!existsSync(home)) return;
  const entries = await readdir(home);
  if (entries.length > 0)
    throw new TargetNotEmptyError(
      `${home} is not empty (${entries.slice(0, 3).join(', ')}${entries.length > 3 ? ', …' : ''}): restore into an empty or new folder`,
    );
}

/** Extracts plain files and folders only; every path stays under `dir` (tar's own rule). */
async function extract(archive: string, dir: string): Promise<void> {
  const refused: string[] = [];
  await tar.x({
    file: archive,
    cwd: dir,
    strict: true,
    filter: (path, entry) => {
      const type = 'type' in entry ? entry.type : undefined;
      const ok = type === 'File' || type === 'Directory';
      if (!ok) refused.push(`${path} (${String(type)})`);
      return ok;
    },
  });
  if (refused.length > 0) throw new Error(`the archive holds entries that are not plain files: ${refused.join(', ')}`);
}

/** Checks every extracted file against the manifest; returns the manifest. */
async function verifyExtracted(dir: string): Promise<BackupManifest> {
  const manifestPath = join(dir, ARCHIVE_PATHS.manifest);
  if (!existsSync(manifestPath)) throw new Error('the archive has no manifest.json; is it a Wharf backup?');
  const manifest = parseManifest(await readFile(manifestPath, 'utf8'));
  const storeDir = join(dir, ARCHIVE_PATHS.store);
  const storeFiles = existsSync(storeDir) ? (await readdir(storeDir)).sort() : [];
  const expected = Object.values(DUMP_FILES).sort();
  if (
    JSON.stringify(storeFiles) !== JSON.stringify(expected) ||
    Object.keys(manifest.store.files).length !== expected.length
  )
    throw new Error(`store/: expected exactly ${expected.join(', ')}, found ${storeFiles.join(', ') || 'nothing'}`);
  for (const name of expected)
    if ((await sha256File(join(storeDir, name))) !== manifest.store.files[name])
      throw new Error(`store/${name}: its SHA-256 differs from the manifest's (the archive is damaged)`);
  if (dumpChecksum(manifest.store.files) !== manifest.store.checksum)
    throw new Error('manifest.json: store.checksum does not match store.files');
  const blobDir = join(dir, ARCHIVE_PATHS.blobs);
  const present = new Set(existsSync(blobDir) ? await readdir(blobDir) : []);
  for (const { digest } of manifest.blobs) {
    const hex = digest.slice('sha256:'.length);
    if (!present.delete(hex)) throw new Error(`blobs: ${digest} is in the manifest but not in the archive`);
    if ((await sha256File(join(blobDir, hex))) !== hex)
      throw new Error(`blobs: ${digest}: its bytes do not hash to its name`);
  }
  if (present.size > 0) throw new Error(`blobs: ${[...present][0]} is in the archive but not in the manifest`);
  const checkpoints = join(dir, ARCHIVE_PATHS.checkpoints);
  const checkpointSha = existsSync(checkpoints) ? await sha256File(checkpoints) : undefined;
  if (checkpointSha !== manifest.audit.checkpointsSha256)
    throw new Error(`${ARCHIVE_PATHS.checkpoints}: its SHA-256 differs from the manifest's`);
  for (const [flag, path] of [
    [manifest.keys.secretKey, ARCHIVE_PATHS.secretKey],
    [manifest.keys.auditSigningKey, ARCHIVE_PATHS.auditSigningKey],
  ] as const)
    if (existsSync(join(dir, path)) !== flag) throw new Error(`${path}: the manifest and the archive disagree on it`);
  return manifest;
}

/** Restores `options.archive`; throws with a message naming what is wrong, leaving the home empty. */
export async function restoreBackup(options: RestoreOptions): Promise<RestoreResult> {
  const home = resolve(options.home);
  await assertEmptyHome(home);
  await mkdir(dirname(home), { recursive: true });
  const staging = await mkdtemp(join(dirname(home), '.wharf-restore-'));
  const homeExisted = existsSync(home);
  let wrote = false;
  try {
    await extract(resolve(options.archive), staging);
    const manifest = await verifyExtracted(staging);
    await mkdir(home, { recursive: true, mode: 0o700 });
    wrote = true;
    const blobs = options.blobs ?? new FsBlobStore(homeFile(home, 'blobs'));
    for (const { digest } of manifest.blobs) {
      const stored = await blobs.put(createReadStream(join(staging, ARCHIVE_PATHS.blobs, digest.slice(7))), {
        maxBytes: MAX_BLOB_BYTES,
      });
      if (stored.digest !== digest) throw new Error(`blobs: ${digest} was stored as ${stored.digest}`);
    }
    await writeFile(homeFile(home, 'checkpoints'), await readFile(join(staging, ARCHIVE_PATHS.checkpoints)), {
      mode: 0o600,
    });
    await writeFile(homeFile(home, 'trustedAuditKeys'), await readFile(join(staging, ARCHIVE_PATHS.trustedKeys)), {
      mode: 0o600,
    });
    const keysRestored: string[] = [];
    for (const [flag, from, to] of [
      [manifest.keys.secretKey, ARCHIVE_PATHS.secretKey, HOME_FILES.secretKey],
      [manifest.keys.auditSigningKey, ARCHIVE_PATHS.auditSigningKey, HOME_FILES.auditSigningKey],
    ] as const) {
      if (!flag) continue;
      await writeFile(join(home, to), await readFile(join(staging, from)), { mode: 0o600, flag: 'wx' });
      await chmod(join(home, to), 0o600);
      keysRestored.push(to);
    }
    const location: StoreLocation =
      options.databaseUrl === undefined || options.databaseUrl === ''
        ? { backend: 'sqlite', path: homeFile(home, 'database') }
        : { backend: 'postgres', url: options.databaseUrl };
    await loadStore(location, join(staging, ARCHIVE_PATHS.store), manifest.store);
    return { manifest, keysRestored };
  } catch (error) {
    // The home was empty: put it back that way (the database load cleans up after itself).
    if (wrote) {
      if (homeExisted)
        for (const entry of await readdir(home)) await rm(join(home, entry), { recursive: true, force: true });
      else await rm(home, { recursive: true, force: true });
    }
    throw error;
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}
