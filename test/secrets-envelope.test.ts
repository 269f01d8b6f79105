/**
 * Envelope encryption of secrets (services/secrets/envelope.ts, key-ring.ts) and the service over a
 * real SQLite store: round trip, ciphertext bound to its secret/version/key (a row copied elsewhere
 * does not decrypt), tampering detected, key rotation keeping every value readable, the key file
 * created with mode 0600, and no value in what the service answers or the database holds.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { openSqliteStore } from '../src/store/sqlite/sqlite-store.js';
import { ensureEnvironments } from '../src/server/environments.js';
import { DecryptionError, type Kek, openItems, rewrapDataKey, sealVersion } from '../src/services/secrets/envelope.js';
import { KEY_FILE, loadKeyRing } from '../src/services/secrets/key-ring.js';
import { Secrets } from '../src/services/secrets/secrets-service.js';

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
function tempHome(): string {
  const d = mkdtempSync(join(tmpdir(), 'wharf-secrets-'));
  dirs.push(d);
  return d;
}
const kek = (id: string): Kek => ({ id, key: randomBytes(32) });
const ID = { environment: 'staging', name: 'db', version: 1 };

describe('envelope encryption', () => {
  test('round trip: every item decrypts to its value, and no value is in the sealed form', () => {
    const k = kek('k1');
    const data = { PASSWORD: 'hunter2-marker', URL: 'postgres://u:p@h/db' };
    const sealed = sealVersion(ID, data, k);
    assert.deepEqual(openItems(ID, sealed, k), data);
    assert.deepEqual(openItems(ID, sealed, k, ['URL']), { URL: data.URL });
    const text = JSON.stringify(sealed);
    assert.ok(!text.includes('hunter2-marker') && !text.includes(Buffer.from('hunter2-marker').toString('base64')));
    assert.equal(sealed.dataKey.kekId, 'k1');
  });

  test('two versions of the same data use different data keys and IVs', () => {
    const k = kek('k1');
    const a = sealVersion(ID, { A: 'same' }, k);
    const b = sealVersion(ID, { A: 'same' }, k);
    assert.notEqual(a.items[0]!.ciphertext + a.items[0]!.iv, b.items[0]!.ciphertext + b.items[0]!.iv);
    assert.notEqual(a.dataKey.ciphertext, b.dataKey.ciphertext);
  });

  test('a row copied to another secret, environment, version or key does not decrypt', () => {
    const k = kek('k1');
    const sealed = sealVersion(ID, { A: 'x', B: 'y' }, k);
    for (const elsewhere of [
      { ...ID, name: 'other' },
      { ...ID, environment: 'production' },
      { ...ID, version: 2 },
    ])
      assert.throws(() => openItems(elsewhere, sealed, k), DecryptionError);
    // An item's ciphertext moved under another key name.
    const swapped = {
      ...sealed,
      items: [
        { ...sealed.items[0]!, key: 'B' },
        { ...sealed.items[1]!, key: 'A' },
      ],
    };
    assert.throws(() => openItems(ID, swapped, k), DecryptionError);
  });

  test('tampering with a ciphertext, tag, IV or wrapped key is detected; the error names no value', () => {
    const k = kek('k1');
    const sealed = sealVersion(ID, { A: 'secret-value-123' }, k);
    const flip = (b64: string): string => {
      const b = Buffer.from(b64, 'base64');
      b[0] = b[0]! ^ 1;
      return b.toString('base64');
    };
    const item = sealed.items[0]!;
    for (const bad of [
      { ...sealed, items: [{ ...item, ciphertext: flip(item.ciphertext) }] },
      { ...sealed, items: [{ ...item, tag: flip(item.tag) }] },
      { ...sealed, items: [{ ...item, iv: flip(item.iv) }] },
      { ...sealed, dataKey: { ...sealed.dataKey, ciphertext: flip(sealed.dataKey.ciphertext) } },
      { ...sealed, dataKey: { ...sealed.dataKey, kekId: 'k2' } },
    ]) {
      assert.throws(
        () => openItems(ID, bad, k),
        (e: Error) => e instanceof DecryptionError && !e.message.includes('secret-value-123'),
      );
    }
    assert.throws(() => openItems(ID, sealed, { id: 'k1', key: randomBytes(32) }), DecryptionError);
  });

  test('re-wrapping moves the data key to the new KEK and leaves the items as they were', () => {
    const [k1, k2] = [kek('k1'), kek('k2')];
    const sealed = sealVersion(ID, { A: 'v' }, k1);
    const moved = { ...sealed, dataKey: rewrapDataKey(ID, sealed.dataKey, k1, k2) };
    assert.deepEqual(moved.items, sealed.items);
    assert.equal(moved.dataKey.kekId, 'k2');
    assert.deepEqual(openItems(ID, moved, k2), { A: 'v' });
    assert.throws(() => openItems(ID, moved, k1), DecryptionError);
  });
});

describe('key ring', () => {
  test('the key file is created at first start with mode 0600 and read back the same', () => {
    const home = tempHome();
    const first = loadKeyRing(home, {});
    const path = join(home, KEY_FILE);
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.equal(Buffer.from(readFileSync(path, 'utf8').trim(), 'base64').length, 32);
    assert.equal(loadKeyRing(home, {}).current().id, first.current().id);
    chmodSync(path, 0o644);
    assert.throws(() => loadKeyRing(home, {}), /readable by other users/);
  });

  test('WHARF_SECRET_KEY wins over the key file; a malformed one is refused without echoing it', () => {
    const home = tempHome();
    const key = randomBytes(32).toString('base64');
    const ring = loadKeyRing(home, { WHARF_SECRET_KEY: key });
    assert.equal(ring.source, 'env');
    assert.equal(existsSync(join(home, KEY_FILE)), false);
    assert.throws(
      () => loadKeyRing(home, { WHARF_SECRET_KEY: 'not-a-key-abc' }),
      (e: Error) =>
        /WHARF_SECRET_KEY: must be the base64 of exactly 32 bytes/.test(e.message) &&
        !e.message.includes('not-a-key-abc'),
    );
  });
});

describe('secrets service on SQLite', () => {
  test('set/get/list answer metadata only; rotate-key re-wraps every version and values stay readable', async () => {
    const home = tempHome();
    const dbPath = join(home, 'wharf.db');
    const store = await openSqliteStore({ path: dbPath });
    try {
      await ensureEnvironments(store);
      const ring = loadKeyRing(home, {});
      const secrets = new Secrets(store, ring);
      const marker = `marker-${randomBytes(8).toString('hex')}`;
      const set1 = await secrets.set('staging', 'db', { PASSWORD: marker, USER: 'app' }, 'alice');
      const set2 = await secrets.set('staging', 'db', { PASSWORD: `${marker}-2` }, 'bob');
      assert.equal(set1.currentVersion, 1);
      assert.equal(set2.currentVersion, 2);
      assert.deepEqual(set2.keys, ['PASSWORD']);
      const answers = JSON.stringify([set1, set2, await secrets.get('staging', 'db'), await secrets.list('staging')]);
      assert.ok(!answers.includes(marker), 'a value in a metadata answer');

      const before = (await secrets.resolve('staging', [{ name: 'db', key: 'USER', version: 1 }])).get('db/USER');
      assert.equal(before, 'app');
      const oldKek = ring.current().id;
      const itemsBefore = (await store.secretVersions.get({ environment: 'staging', name: 'db', version: 1 })).items;
      const rotated = await secrets.rotateKey();
      assert.equal(rotated.rewrapped, 2);
      assert.notEqual(rotated.kekId, oldKek);
      assert.equal(ring.current().id, rotated.kekId);
      const v1 = await store.secretVersions.get({ environment: 'staging', name: 'db', version: 1 });
      assert.equal(v1.dataKey.kekId, rotated.kekId);
      assert.deepEqual(v1.items, itemsBefore, 'rotation must not touch item ciphertexts');
      // A fresh process reads the rotated key file.
      const reopened = new Secrets(store, loadKeyRing(home, {}));
      const values = await reopened.resolve('staging', [
        { name: 'db', key: 'PASSWORD', version: 1 },
        { name: 'db', key: 'PASSWORD' },
      ]);
      assert.equal(values.get('db/PASSWORD'), `${marker}-2`);
      assert.equal(
        (await reopened.resolve('staging', [{ name: 'db', key: 'PASSWORD', version: 1 }])).get('db/PASSWORD'),
        marker,
      );

      // A version row copied onto another secret's key does not decrypt there.
      await secrets.set('staging', 'other', { PASSWORD: 'x' }, 'alice');
      const otherRow = await store.secretVersions.get({ environment: 'staging', name: 'other', version: 1 });
      await store.secretVersions.update({ ...otherRow, items: v1.items, dataKey: v1.dataKey });
      await assert.rejects(reopened.resolve('staging', [{ name: 'other', key: 'PASSWORD' }]), /does not decrypt/);

      await assert.rejects(secrets.resolve('staging', [{ name: 'db', key: 'NOPE' }]), /has no key "NOPE"/);
      await secrets.delete('staging', 'db', 'alice');
      await assert.rejects(secrets.get('staging', 'db'), /not found/);
      assert.equal(
        (await store.secretVersions.list({ secret: { environment: 'staging', name: 'db' } })).items.length,
        0,
      );
      await store.close();
      for (const file of [dbPath, `${dbPath}-wal`])
        if (existsSync(file)) assert.ok(!readFileSync(file).includes(marker), `${file} holds the value in clear`);
    } finally {
      await store.close().catch(() => undefined);
    }
  });

  test('bad input is a 400 naming the field, never echoing the value', async () => {
    const store = await openSqliteStore({ path: ':memory:' });
    try {
      await ensureEnvironments(store);
      const secrets = new Secrets(store, loadKeyRing(tempHome(), {}));
      const big = 'v'.repeat(64 * 1024 + 1);
      await assert.rejects(
        secrets.set('staging', 'db', { A: big }, 'a'),
        (e: Error) => /data\.A: value is 65537 bytes; at most 65536/.test(e.message) && !e.message.includes('vvvv'),
      );
      await assert.rejects(
        secrets.set('staging', 'db', { 'bad-key': 'topsecret' }, 'a'),
        (e: Error) => /data key: must match/.test(e.message) && !e.message.includes('topsecret'),
      );
      await assert.rejects(secrets.set('staging', 'Bad_Name', { A: 'x' }, 'a'), /name: must be 1-63/);
      await assert.rejects(secrets.set('nowhere', 'db', { A: 'x' }, 'a'), /environment: no environment/);
      const many = Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`K${i}`, 'x']));
      await assert.rejects(secrets.set('staging', 'db', many, 'a'), /at most 100 keys/);
    } finally {
      await store.close();
    }
  });
});
