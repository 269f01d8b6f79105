// What a kill -9 during a push leaves in the blob store (a `.part` under blobs/tmp, a blob that no
// version references) is swept: by the registry, keeping referenced blobs and anything too recent to
// be told from a push in progress, and by the control plane when it starts.
import assert from 'node:assert/strict';
import { mkdir, readFile, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { startControlPlane } from '../src/server/control-plane.js';
import { filesUnder, openRegistryHome } from './support/registry.js';

const HOUR_AGO = new Date(Date.now() - 3_600_000);

async function* once(data: Uint8Array): AsyncGenerator<Uint8Array> {
  yield data;
}

/** Makes `file` look last written an hour ago. */
const age = (file: string) => utimes(file, HOUR_AGO, HOUR_AGO);

void test(
  'sweepLeftovers removes old temp files and old unreferenced blobs, and keeps referenced and recent ones',
  { timeout: 30_000 },
  async () => {
    const h = await openRegistryHome();
    try {
      const model = await readFile(h.models.readmission);
      const version = await h.registry.pushVersion({ model: 'risk', version: '1.0.0' }, once(model));
      const referenced = h.blobs.pathOf(version.artifact.digest);
      const orphan = await h.blobs.put(once(Buffer.from('bytes a crashed push stored')), { maxBytes: 1024 });
      const recent = await h.blobs.put(once(Buffer.from('bytes a push in progress just stored')), { maxBytes: 1024 });
      await mkdir(join(h.blobRoot, 'tmp'), { recursive: true });
      await writeFile(join(h.blobRoot, 'tmp', 'crashed.part'), 'half an upload');
      await writeFile(join(h.blobRoot, 'tmp', 'uploading.part'), 'an upload in progress');
      for (const file of [referenced, h.blobs.pathOf(orphan.digest), join(h.blobRoot, 'tmp', 'crashed.part')])
        await age(file);

      assert.deepEqual(await h.registry.sweepLeftovers({ olderThanMs: 60_000 }), { tempFiles: 1, blobs: 1 });
      assert.equal(await h.blobs.has(version.artifact.digest), true, 'a referenced blob stays, however old');
      assert.equal(await h.blobs.has(orphan.digest), false, 'an old unreferenced blob goes');
      assert.equal(await h.blobs.has(recent.digest), true, 'a recent one stays: it may belong to a push in progress');
      assert.deepEqual(await filesUnder(join(h.blobRoot, 'tmp')), ['uploading.part']);
      // Storing bytes that are there already counts as a fresh write: the grace period covers that push too.
      await age(h.blobs.pathOf(recent.digest));
      await h.blobs.put(once(Buffer.from('bytes a push in progress just stored')), { maxBytes: 1024 });
      assert.deepEqual(await h.registry.sweepLeftovers({ olderThanMs: 60_000 }), { tempFiles: 0, blobs: 0 });
      assert.equal(await h.blobs.has(recent.digest), true);
      // The version still loads from its blob.
      assert.equal((await h.registry.getVersion('risk', '1.0.0')).artifact.digest, version.artifact.digest);
    } finally {
      await h.cleanup();
    }
  },
);

void test('the control plane sweeps crash leftovers when it starts', { timeout: 60_000 }, async () => {
  const h = await openRegistryHome();
  await h.store.close();
  try {
    const orphan = await h.blobs.put(once(Buffer.from('bytes of a push killed before it recorded its version')), {
      maxBytes: 1024,
    });
    await mkdir(join(h.blobRoot, 'tmp'), { recursive: true });
    await writeFile(join(h.blobRoot, 'tmp', 'killed.part'), 'half an upload');
    await age(h.blobs.pathOf(orphan.digest));
    await age(join(h.blobRoot, 'tmp', 'killed.part'));
    const lines: string[] = [];
    const cp = await startControlPlane({
      home: h.home,
      host: '127.0.0.1',
      port: 0,
      gatewayPort: 0,
      log: (l) => lines.push(l),
    });
    try {
      assert.deepEqual(await filesUnder(h.blobRoot), []);
      assert.ok(
        lines.includes('registry: removed 1 unfinished upload(s) and 1 unreferenced blob(s)'),
        lines.join('\n'),
      );
    } finally {
      await cp.stop();
    }
  } finally {
    await h.cleanup().catch(() => undefined);
  }
});
