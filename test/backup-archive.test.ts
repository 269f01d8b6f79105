/**
 * The backup archive's checks, without a running platform: a store with objects and a blob is
 * backed up; a damaged archive (a byte of the store changed, a blob whose bytes do not match its
 * name, a file the manifest does not name) is refused naming what is wrong and leaves the home
 * empty; a good one restores with every object and the blob; the digests named by any `digest`
 * field are found.
 */
import assert from 'node:assert/strict';
import { createReadStream, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import * as tar from 'tar';
import { FsBlobStore } from '../src/registry/fs-blob-store.js';
import { createBackup, digestsIn } from '../src/services/backup/create-backup.js';
import { restoreBackup } from '../src/services/backup/restore-backup.js';
import { openSqliteStore } from '../src/store/sqlite/sqlite-store.js';
import { openRegistryHome } from './support/registry.js';

const root = mkdtempSync(join(tmpdir(), 'wharf-backup-archive-'));
after(() => rmSync(root, { recursive: true, force: true }));

test('digestsIn finds every digest field at any depth, and nothing else', () => {
  const a = `sha256:${'a'.repeat(64)}`;
  const b = `sha256:${'b'.repeat(64)}`;
  const found = new Set<string>();
  digestsIn({ artifact: { digest: a }, bundle: [{ nested: { digest: b } }], digest: 'not-a-digest', other: a }, found);
  assert.deepEqual([...found].sort(), [a, b]);
});

test('a damaged archive is refused naming the damage; a good one restores', async () => {
  const source = await openRegistryHome();
  after(() => source.cleanup());
  const { home, blobs } = source;
  const pushed = await source.registry.pushVersion(
    { model: 'readmission', version: '1.0.0' },
    createReadStream(source.models.readmission),
  );
  const digest = pushed.artifact.digest;
  const archive = join(root, 'good.tar.gz');
  const manifest = await createBackup({
    home,
    store: { backend: 'sqlite', path: join(home, 'wharf.db') },
    blobs,
    out: archive,
    includeKeys: false,
  });
  assert.ok(manifest.store.counts.objects > 0);

  // Rewrites one file of the archive and packs it again.
  const damaged = async (name: string, edit: (dir: string) => void): Promise<string> => {
    const dir = mkdtempSync(join(root, 'unpacked-'));
    await tar.x({ file: archive, cwd: dir });
    edit(dir);
    const out = join(root, `${name}.tar.gz`);
    await tar.c({ gzip: true, file: out, cwd: dir }, readdirSync(dir));
    return out;
  };
  const refusedWith = async (file: string, pattern: RegExp): Promise<void> => {
    const target = join(root, `restore-${Math.random().toString(36).slice(2)}`);
    await assert.rejects(restoreBackup({ archive: file, home: target }), pattern);
    assert.deepEqual(readdirSync(root).includes(target.split('/').at(-1)!), false, 'nothing left of the home');
  };
  await refusedWith(
    await damaged('store', (dir) => {
      const path = join(dir, 'store/objects.jsonl');
      writeFileSync(path, readFileSync(path, 'utf8').replace('1.0.0', '9.9.9'));
    }),
    /store\/objects\.jsonl: its SHA-256 differs/,
  );
  assert.deepEqual(
    manifest.blobs.map((b) => b.digest),
    [digest],
  );
  await refusedWith(
    await damaged('blob', (dir) => writeFileSync(join(dir, 'blobs/sha256', digest.slice(7)), 'other bytes')),
    /do not hash to its name/,
  );
  await refusedWith(
    await damaged('extra', (dir) => writeFileSync(join(dir, 'blobs/sha256', 'f'.repeat(64)), 'x')),
    /in the archive but not in the manifest/,
  );
  await refusedWith(
    await damaged('manifest', (dir) => writeFileSync(join(dir, 'manifest.json'), '{"format":"wharf-backup"}')),
    /manifest\.json: formatVersion/,
  );

  const target = join(root, 'restored');
  const restored = await restoreBackup({ archive, home: target });
  assert.equal(restored.manifest.store.checksum, manifest.store.checksum);
  const back = await openSqliteStore({ path: join(target, 'wharf.db') });
  try {
    const again = await createBackup({
      home: target,
      store: { backend: 'sqlite', path: join(target, 'wharf.db') },
      blobs: new FsBlobStore(join(target, 'blobs')),
      out: join(root, 'again.tar.gz'),
      includeKeys: false,
    });
    assert.equal(again.store.checksum, manifest.store.checksum, 'a backup of the restore is the same store');
    assert.deepEqual(again.blobs, manifest.blobs);
  } finally {
    await back.close();
  }
  await assert.rejects(restoreBackup({ archive, home: target }), /is not empty/);
});
