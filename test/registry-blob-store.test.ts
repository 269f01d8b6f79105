// FsBlobStore on a real directory: content addressing, dedupe, atomic placement, the size limit
// enforced while streaming, and digests that cannot name a path outside the store.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, test } from 'node:test';
import { InvalidArgumentError, NotFoundError, PayloadTooLargeError } from '../src/core/errors.js';
import { FsBlobStore } from '../src/registry/fs-blob-store.js';
import { endlessBody, filesUnder, readAll } from './support/registry.js';

const root = await mkdtemp(join(tmpdir(), 'wharf-blobs-'));
after(() => rm(root, { recursive: true, force: true }));

function sha256(bytes: Uint8Array): `sha256:${string}` {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

async function* chunks(...parts: string[]): AsyncGenerator<Uint8Array> {
  for (const p of parts) yield Buffer.from(p);
}

void test('stores content under its sha256, read-only, and reads it back', async () => {
  const blobs = new FsBlobStore(join(root, 'a'));
  assert.equal(blobs.local, true);
  const info = await blobs.put(chunks('hello, ', 'world'), { maxBytes: 100 });
  const expected = sha256(Buffer.from('hello, world'));
  assert.deepEqual(info, { digest: expected, size: 12 });
  const hex = expected.slice(7);
  assert.deepEqual(await filesUnder(join(root, 'a')), [join('sha256', hex.slice(0, 2), hex)]);
  const path = await blobs.path(expected);
  assert.equal(path, join(root, 'a', 'sha256', hex.slice(0, 2), hex));
  assert.equal(blobs.pathOf(expected), path);
  assert.equal((await stat(path)).mode & 0o222, 0, 'blob files are read-only');
  assert.equal((await readFile(path)).toString(), 'hello, world');
  assert.equal((await readAll(await blobs.open(expected))).toString(), 'hello, world');
  assert.deepEqual(await blobs.stat(expected), { digest: expected, size: 12 });
  assert.equal(await blobs.has(expected), true);
});

void test('identical content is stored once; a Readable body works like a generator', async () => {
  const blobs = new FsBlobStore(join(root, 'b'));
  const first = await blobs.put(Readable.from([Buffer.from('same bytes')]), { maxBytes: 100 });
  const second = await blobs.put(chunks('same', ' bytes'), { maxBytes: 100 });
  assert.deepEqual(second, first);
  assert.equal((await filesUnder(join(root, 'b'))).length, 1, 'one blob, no temp file left');
  const empty = await blobs.put(chunks(), { maxBytes: 0 });
  assert.deepEqual(empty, { digest: sha256(new Uint8Array()), size: 0 });
});

void test('a body over maxBytes fails while streaming and leaves nothing behind', async () => {
  const dir = join(root, 'c');
  const blobs = new FsBlobStore(dir);
  const endless = endlessBody(64 * 1024);
  await assert.rejects(blobs.put(endless.body, { maxBytes: 1024 * 1024 }), (err: unknown) => {
    assert.ok(err instanceof PayloadTooLargeError);
    assert.equal(err.code, 'PAYLOAD_TOO_LARGE');
    return true;
  });
  assert.equal(endless.yielded(), 17, 'stops at the first chunk past the limit');
  assert.equal(endless.stopped(), true, 'the source was told to stop');
  assert.deepEqual(await filesUnder(dir), []);

  // Exactly at the limit is fine.
  const info = await blobs.put(chunks('x'.repeat(10)), { maxBytes: 10 });
  assert.equal(info.size, 10);

  // A destroyed Readable stops too.
  const readable = Readable.from(endlessBody(1024).body);
  await assert.rejects(blobs.put(readable, { maxBytes: 4096 }), PayloadTooLargeError);
  assert.equal(readable.destroyed, true);
  assert.deepEqual(await filesUnder(join(dir, 'tmp')), []);
});

void test('a failing source or non-byte chunks leave no temp file', async () => {
  const dir = join(root, 'd');
  const blobs = new FsBlobStore(dir);
  async function* failing(): AsyncGenerator<Uint8Array> {
    yield Buffer.from('partial');
    throw new Error('connection reset');
  }
  await assert.rejects(blobs.put(failing(), { maxBytes: 100 }), /connection reset/);
  await assert.rejects(
    blobs.put(Readable.from(['text'], { objectMode: true }), { maxBytes: 100 }),
    InvalidArgumentError,
  );
  assert.deepEqual(await filesUnder(dir), []);
  await assert.rejects(blobs.put(chunks('x'), { maxBytes: -1 }), InvalidArgumentError);
});

void test('absent blobs are NOT_FOUND; delete is idempotent', async () => {
  const blobs = new FsBlobStore(join(root, 'e'));
  const missing = sha256(Buffer.from('never stored'));
  assert.equal(await blobs.has(missing), false);
  await assert.rejects(blobs.open(missing), NotFoundError);
  await assert.rejects(blobs.stat(missing), NotFoundError);
  await assert.rejects(blobs.path(missing), NotFoundError);
  assert.equal(await blobs.delete(missing), false);
  const { digest } = await blobs.put(chunks('to delete'), { maxBytes: 100 });
  assert.equal(await blobs.delete(digest), true);
  assert.equal(await blobs.has(digest), false);
  assert.equal(await blobs.delete(digest), false);
});

void test('malformed digests are rejected by every method, so none can name a path', async () => {
  const blobs = new FsBlobStore(join(root, 'f'));
  const bad = [
    'sha256:../../etc',
    'sha256:../../../etc/passwd',
    `sha256:${'A'.repeat(64)}`,
    `sha256:${'a'.repeat(63)}`,
    `sha512:${'a'.repeat(64)}`,
    `sha256:${'a'.repeat(64)}/../x`,
    `${'a'.repeat(64)}`,
    '',
  ];
  for (const digest of bad) {
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
    assert.throws(() => blobs.pathOf(digest), InvalidArgumentError);
  }
});

void test('sweepTemp removes only old leftovers of interrupted uploads', async () => {
  const dir = join(root, 'g');
  const blobs = new FsBlobStore(dir);
  assert.equal(await blobs.sweepTemp({ olderThanMs: 0 }), 0, 'no tmp directory yet');
  await mkdir(join(dir, 'tmp'), { recursive: true });
  await writeFile(join(dir, 'tmp', 'old.part'), 'x');
  await writeFile(join(dir, 'tmp', 'new.part'), 'x');
  const hourAgo = new Date(Date.now() - 3_600_000);
  await utimes(join(dir, 'tmp', 'old.part'), hourAgo, hourAgo);
  assert.equal(await blobs.sweepTemp({ olderThanMs: 60_000 }), 1);
  assert.deepEqual(await filesUnder(join(dir, 'tmp')), ['new.part']);
});
