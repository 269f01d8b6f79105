// The BlobStore contract, run against every implementation: the file system store and the S3
// store (against s3rver, an S3-compatible server this test starts in process). What only one of
// them does (file modes, paths) is tested beside it: registry-blob-store.test.ts for files.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { InvalidArgumentError, NotFoundError, PayloadTooLargeError } from '../src/core/errors.js';
import type { BlobStore } from '../src/registry/blob-store.js';
import { FsBlobStore } from '../src/registry/fs-blob-store.js';
import { S3BlobStore } from '../src/registry/s3-blob-store.js';
import { endlessBody, readAll } from './support/registry.js';
import { type S3Server, startS3Server } from './support/s3-server.js';

const root = await mkdtemp(join(tmpdir(), 'wharf-blob-contract-'));
let s3: S3Server;
before(async () => {
  s3 = await startS3Server(['wharf-contract']);
});
after(async () => {
  await s3?.close();
  await rm(root, { recursive: true, force: true });
});

/** One implementation: how to make a fresh, empty store of it. */
interface Implementation {
  readonly name: string;
  readonly local: boolean;
  fresh(id: string): BlobStore;
}

const IMPLEMENTATIONS: readonly Implementation[] = [
  { name: 'file system', local: true, fresh: (id) => new FsBlobStore(join(root, 'fs', id)) },
  {
    name: 'S3 (s3rver)',
    local: false,
    fresh: (id) =>
      new S3BlobStore({ url: `s3://wharf-contract/${id}`, spoolDir: join(root, 'spool', id), client: s3.client }),
  },
];

function sha256(bytes: Uint8Array): `sha256:${string}` {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

async function* chunks(...parts: string[]): AsyncGenerator<Uint8Array> {
  for (const p of parts) yield Buffer.from(p);
}

for (const impl of IMPLEMENTATIONS) {
  void describe(`BlobStore contract: ${impl.name}`, () => {
    void test('stores content under its sha256 and reads it back', async () => {
      const blobs = impl.fresh('a');
      assert.equal(blobs.local, impl.local);
      const info = await blobs.put(chunks('hello, ', 'world'), { maxBytes: 100 });
      const expected = sha256(Buffer.from('hello, world'));
      assert.deepEqual(info, { digest: expected, size: 12 });
      assert.equal((await readAll(await blobs.open(expected))).toString(), 'hello, world');
      assert.deepEqual(await blobs.stat(expected), { digest: expected, size: 12 });
      assert.equal(await blobs.has(expected), true);
      const path = await blobs.path(expected);
      assert.equal(path === undefined, !impl.local, 'a path exactly when the store is local');
      assert.deepEqual(
        (await blobs.list!()).map((b) => b.digest),
        [expected],
      );
    });

    void test('identical content is stored once; a Readable body works like a generator', async () => {
      const blobs = impl.fresh('b');
      const first = await blobs.put(Readable.from([Buffer.from('same bytes')]), { maxBytes: 100 });
      const second = await blobs.put(chunks('same', ' bytes'), { maxBytes: 100 });
      assert.deepEqual(second, first);
      assert.equal((await blobs.list!()).length, 1);
      const empty = await blobs.put(chunks(), { maxBytes: 0 });
      assert.deepEqual(empty, { digest: sha256(new Uint8Array()), size: 0 });
    });

    void test('a body over maxBytes fails while streaming and stores nothing', async () => {
      const blobs = impl.fresh('c');
      const endless = endlessBody(64 * 1024);
      await assert.rejects(blobs.put(endless.body, { maxBytes: 1024 * 1024 }), PayloadTooLargeError);
      assert.equal(endless.yielded(), 17, 'stops at the first chunk past the limit');
      assert.equal(endless.stopped(), true, 'the source was told to stop');
      assert.deepEqual(await blobs.list!(), []);
      assert.equal(await blobs.sweepTemp!({ olderThanMs: 0 }), 0, 'no upload leftovers either');
      assert.equal(
        (await blobs.put(chunks('x'.repeat(10)), { maxBytes: 10 })).size,
        10,
        'exactly at the limit is fine',
      );
    });

    void test('a failing source or non-byte chunks store nothing', async () => {
      const blobs = impl.fresh('d');
      async function* failing(): AsyncGenerator<Uint8Array> {
        yield Buffer.from('partial');
        throw new Error('connection reset');
      }
      await assert.rejects(blobs.put(failing(), { maxBytes: 100 }), /connection reset/);
      await assert.rejects(
        blobs.put(Readable.from(['text'], { objectMode: true }), { maxBytes: 100 }),
        InvalidArgumentError,
      );
      await assert.rejects(blobs.put(chunks('x'), { maxBytes: -1 }), InvalidArgumentError);
      assert.deepEqual(await blobs.list!(), []);
    });

    void test('absent blobs are NOT_FOUND; delete is idempotent', async () => {
      const blobs = impl.fresh('e');
      const missing = sha256(Buffer.from('never stored'));
      assert.equal(await blobs.has(missing), false);
      await assert.rejects(blobs.open(missing), NotFoundError);
      await assert.rejects(blobs.stat(missing), NotFoundError);
      assert.equal(await blobs.delete(missing), false);
      const { digest } = await blobs.put(chunks('to delete'), { maxBytes: 100 });
      assert.equal(await blobs.delete(digest), true);
      assert.equal(await blobs.has(digest), false);
      assert.equal(await blobs.delete(digest), false);
    });

    void test('malformed digests are rejected by every method', async () => {
      const blobs = impl.fresh('f');
      for (const digest of ['sha256:../../etc', `sha256:${'A'.repeat(64)}`, `sha512:${'a'.repeat(64)}`, '']) {
        for (const call of [
          () => blobs.has(digest),
          () => blobs.open(digest),
          () => blobs.stat(digest),
          () => blobs.path(digest),
          () => blobs.delete(digest),
        ]) {
          await assert.rejects(call(), (err: unknown) => {
            assert.ok(err instanceof InvalidArgumentError, `${JSON.stringify(digest)}: ${String(err)}`);
            assert.match(err.message, /^digest: must be 'sha256:' followed by 64 lowercase hex digits/);
            return true;
          });
        }
      }
    });

    void test('a 5 MiB blob streams in and out intact', async () => {
      const blobs = impl.fresh('g');
      const bytes = Buffer.alloc(5 << 20);
      for (let i = 0; i < bytes.length; i += 4) bytes.writeUInt32LE((i * 2654435761) >>> 0, i);
      const info = await blobs.put(Readable.from([bytes.subarray(0, 1 << 20), bytes.subarray(1 << 20)]), {
        maxBytes: 10 << 20,
      });
      assert.equal(info.digest, sha256(bytes));
      assert.ok((await readAll(await blobs.open(info.digest))).equals(bytes));
    });
  });
}
