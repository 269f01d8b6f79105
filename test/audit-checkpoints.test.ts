/**
 * The audit trail's files outside the database: the Ed25519 signing key (created 0600, kept across
 * starts, anywhere `WHARF_AUDIT_KEY_FILE` points, a key of another type refused) and the checkpoint
 * file (a line torn by `kill -9` is skipped and mended, so the next checkpoint stays readable).
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { ANONYMOUS_ADMIN } from '../src/core/identity/principal.js';
import { requestContext } from '../src/core/request-context.js';
import { readCheckpointFile } from '../src/services/audit/checkpoint-file.js';
import { AuditRecorder } from '../src/services/audit/recorder.js';
import { loadOrCreateSigningKey } from '../src/services/audit/signing-key.js';
import { verifyStoredAudit } from '../src/services/audit/verifier.js';
import { openSqliteStore } from '../src/store/sqlite/sqlite-store.js';

const root = mkdtempSync(join(tmpdir(), 'wharf-audit-files-'));
after(() => rmSync(root, { recursive: true, force: true }));

test('the signing key is created 0600 where it is asked for, and the same key is read back', async () => {
  const path = join(root, 'elsewhere', 'key.pem');
  const first = await loadOrCreateSigningKey(path);
  assert.equal(statSync(path).mode & 0o777, 0o600);
  const again = await loadOrCreateSigningKey(path);
  assert.equal(again.keyId, first.keyId);
  const rsa = join(root, 'rsa.pem');
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  writeFileSync(rsa, privateKey.export({ format: 'pem', type: 'pkcs8' }));
  await assert.rejects(loadOrCreateSigningKey(rsa), /must be an Ed25519 key, got rsa/);
  writeFileSync(join(root, 'junk.pem'), 'not a key');
  await assert.rejects(loadOrCreateSigningKey(join(root, 'junk.pem')), /not a PEM private key/);
});

test('a torn checkpoint line is skipped, and mended at start so the next checkpoint is readable', async () => {
  const store = await openSqliteStore({ path: join(root, 'a.db') });
  try {
    const signingKey = await loadOrCreateSigningKey(join(root, 'audit-signing.key'));
    const checkpointFile = join(root, 'audit-checkpoints.jsonl');
    const write = (n: number) =>
      requestContext.run({ principal: ANONYMOUS_ADMIN, requestId: `r${n}`, sourceAddress: '::1' }, () =>
        store.appendAuditEvent({
          actor: { id: 'anonymous', name: 'anonymous', type: 'anonymous' },
          action: 'tests.create',
          resource: { kind: 'test', name: `t${n}` },
          environment: null,
          outcome: 'denied',
          status: 403,
          requestId: `r${n}`,
          sourceAddress: '::1',
          summary: 'POST /x',
        }),
      );
    const first = new AuditRecorder(store, { signingKey, checkpointFile, checkpointIntervalMs: 0 });
    await first.start();
    await write(1);
    assert.equal((await first.checkpoint())?.seq, 1);
    assert.equal(await first.checkpoint(), undefined, 'nothing new to sign');
    appendFileSync(checkpointFile, '{"seq":2,"hash":"ab'); // kill -9 mid-append
    assert.equal((await readCheckpointFile(checkpointFile)).length, 1);

    const second = new AuditRecorder(store, { signingKey, checkpointFile, checkpointIntervalMs: 0 });
    await second.start();
    await write(2);
    await second.close(); // signs at close
    assert.deepEqual(
      (await readCheckpointFile(checkpointFile)).map((c) => c.seq),
      [1, 2],
    );
    assert.equal(readFileSync(checkpointFile, 'utf8').split('\n').length, 4, 'two checkpoints, the torn line, the end');
    const r = await verifyStoredAudit(store, {
      checkpointFile,
      trustedKeys: new Map([[signingKey.keyId, signingKey.publicKey]]),
    });
    assert.equal(r.ok, true, JSON.stringify(r.problems));
    assert.equal(r.checkpoints, 2, 'each checkpoint once: its copies in the database and the file are the same');
  } finally {
    await store.close();
  }
});
