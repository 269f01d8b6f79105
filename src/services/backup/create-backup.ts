/**
 * `wharf backup`: a consistent snapshot of a home's store and everything it needs (the blobs it
 * references, the audit checkpoints and the keys they are signed with), written as one archive
 * (`manifest.ts`) while the platform runs.
 *
 * Order matters for consistency: the store snapshot comes first and fixes what the backup is; the
 * blobs are those its objects name (blobs are immutable, and the registry's sweep removes only
 * unreferenced ones, so they are still there), and the checkpoint lines are cut at the snapshot's
 * audit head (a checkpoint signed after the snapshot would point past the restored chain's end).
 */
import { createHash, createPrivateKey, createPublicKey } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import * as tar from 'tar';
import { isSha256Digest } from '../../core/resources/digest.js';
import { WHARF_VERSION } from '../../core/version.js';
import type { BlobStore } from '../../registry/blob-store.js';
import type { StoreLocation } from '../../store/backup/raw-database.js';
import { DUMP_FILES, type DumpedObject, dumpStore } from '../../store/backup/store-dump.js';
import { readCheckpointFile } from '../audit/checkpoint-file.js';
import { homeFile, pemBlocks, readIfExists } from './home-files.js';
import { ARCHIVE_PATHS, BACKUP_FORMAT, BACKUP_FORMAT_VERSION, type BackupManifest } from './manifest.js';

/** What to back up and where. */
export interface BackupOptions {
  home: string;
  /** Where the store is (the home's SQLite file, or PostgreSQL). */
  store: StoreLocation;
  /** The registry's blob store. */
  blobs: BlobStore;
  /** The archive to write (refused when it exists). */
  out: string;
  /** Also carry `secret.key` and the audit signing key (see the README for why not by default). */
  includeKeys: boolean;
  /** The audit signing key when not `<home>/audit-signing.key` (`WHARF_AUDIT_KEY_FILE`). */
  auditKeyFile?: string;
}

/** Every `digest` field (sha256:…) anywhere in a document: models, bundles, any kind that names a blob. */
export function digestsIn(value: unknown, into: Set<string>): void {
  if (Array.isArray(value)) for (const v of value) digestsIn(v, into);
  else if (typeof value === 'object' && value !== null)
    for (const [k, v] of Object.entries(value)) {
      if (k === 'digest' && typeof v === 'string' && isSha256Digest(v)) into.add(v);
      else digestsIn(v, into);
    }
}

async function scanObjects(
  file: string,
): Promise<{ digests: Set<string>; head: { seq: number; hash: string } | null }> {
  const digests = new Set<string>();
  let head: { seq: number; hash: string } | null = null;
  for await (const line of createInterface({ input: createReadStream(file), crlfDelay: Infinity })) {
    if (line === '') continue;
    const o = JSON.parse(line) as DumpedObject;
    if (o.kind === 'AuditHead') {
      const d = o.doc as { seq: number; hash: string };
      head = { seq: d.seq, hash: d.hash };
    } else digestsIn(o.doc, digests);
  }
  return { digests, head };
}

/** Copies one blob into the staging folder, checking its bytes against its name. */
async function copyBlob(blobs: BlobStore, digest: string, path: string): Promise<number> {
  const hash = createHash('sha256');
  let size = 0;
  const counting = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      hash.update(chunk);
      size += chunk.length;
      done(null, chunk);
    },
  });
  let source;
  try {
    source = await blobs.open(digest);
  } catch (e) {
    throw new Error(`blob ${digest} named by the store is missing from the blob store (${(e as Error).message})`, {
      cause: e,
    });
  }
  await pipeline(source, counting, createWriteStream(path, { flags: 'wx', mode: 0o600 }));
  if (`sha256:${hash.digest('hex')}` !== digest) throw new Error(`blob ${digest}: its bytes do not hash to its name`);
  return size;
}

/** Writes the archive; returns its manifest. */
export async function createBackup(options: BackupOptions): Promise<BackupManifest> {
  const out = resolve(options.out);
  if (existsSync(out)) throw new Error(`${options.out}: already exists`);
  const staging = await mkdtemp(join(dirname(out), '.wharf-backup-'));
  try {
    const storeDir = join(staging, ARCHIVE_PATHS.store);
    await mkdir(storeDir);
    const store = await dumpStore(options.store, storeDir);
    const { digests, head } = await scanObjects(join(storeDir, DUMP_FILES.objects));

    const blobDir = join(staging, ARCHIVE_PATHS.blobs);
    await mkdir(blobDir, { recursive: true });
    const blobs: BackupManifest['blobs'] = [];
    for (const digest of [...digests].sort()) {
      const size = await copyBlob(options.blobs, digest, join(blobDir, digest.slice('sha256:'.length)));
      blobs.push({ digest, size });
    }

    await mkdir(join(staging, 'audit'));
    const checkpoints = (await readCheckpointFile(homeFile(options.home, 'checkpoints'))).filter(
      (c) => head !== null && c.seq <= head.seq,
    );
    const checkpointText = checkpoints.map((c) => `${JSON.stringify(c)}\n`).join('');
    await writeFile(join(staging, ARCHIVE_PATHS.checkpoints), checkpointText, { mode: 0o600 });
    const signingKeyFile = options.auditKeyFile ?? homeFile(options.home, 'auditSigningKey');
    const signingPem = await readIfExists(signingKeyFile);
    const trusted = [
      ...(signingPem === undefined
        ? []
        : [createPublicKey(createPrivateKey(signingPem)).export({ format: 'pem', type: 'spki' }).toString()]),
      ...pemBlocks((await readIfExists(homeFile(options.home, 'trustedAuditKeys'))) ?? ''),
    ];
    await writeFile(join(staging, ARCHIVE_PATHS.trustedKeys), trusted.map((k) => `${k.trim()}\n`).join(''));

    const keys = { secretKey: false, auditSigningKey: false };
    if (options.includeKeys) {
      await mkdir(join(staging, 'keys'), { mode: 0o700 });
      const secretKey = await readIfExists(homeFile(options.home, 'secretKey'));
      if (secretKey !== undefined) {
        await writeFile(join(staging, ARCHIVE_PATHS.secretKey), secretKey, { mode: 0o600 });
        keys.secretKey = true;
      }
      if (signingPem !== undefined) {
        await writeFile(join(staging, ARCHIVE_PATHS.auditSigningKey), signingPem, { mode: 0o600 });
        keys.auditSigningKey = true;
      }
    }

    const manifest: BackupManifest = {
      format: BACKUP_FORMAT,
      formatVersion: BACKUP_FORMAT_VERSION,
      wharfVersion: WHARF_VERSION,
      createdAt: new Date().toISOString(),
      store,
      audit: {
        head,
        checkpoints: checkpoints.length,
        checkpointsSha256: createHash('sha256').update(checkpointText).digest('hex'),
        trustedKeys: trusted.length,
      },
      blobs,
      keys,
    };
    await writeFile(join(staging, ARCHIVE_PATHS.manifest), `${JSON.stringify(manifest, null, 2)}\n`);
    // The manifest first, so a restore reads it before anything else.
    const part = `${out}.part`;
    await tar.c({ gzip: true, file: part, cwd: staging, portable: true }, [
      ARCHIVE_PATHS.manifest,
      ARCHIVE_PATHS.store,
      'blobs',
      'audit',
      ...(options.includeKeys ? ['keys'] : []),
    ]);
    // The archive holds the whole store (secrets encrypted) and maybe keys: readable by its owner only.
    await chmod(part, 0o600);
    await rename(part, out);
    return manifest;
  } finally {
    await rm(staging, { recursive: true, force: true });
    await rm(`${out}.part`, { force: true });
  }
}
