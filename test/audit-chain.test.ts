/**
 * The audit chain's pure parts: canonical JSON, sealing, the verifier's verdict on each kind of
 * tampering (edit, delete, reorder, truncate, forged checkpoint), redaction of secret fields in
 * summaries, and how requests map to actions.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync, sign } from 'node:crypto';
import { describe, test } from 'node:test';
import {
  type AuditDraft,
  auditEventHash,
  auditSummary,
  canonicalJson,
  checkpointMessage,
  GENESIS_HASH,
  sealAuditEvent,
} from '../src/core/audit/chain.js';
import { keyIdOf, verifyAuditChain } from '../src/core/audit/verify.js';
import type { AuditCheckpoint, AuditEvent } from '../src/core/resources/audit-event.js';
import { describeRequest } from '../src/api/audit-actions.js';

const draft = (i: number): AuditDraft => ({
  actor: { id: 'user:u1', name: 'alice', type: 'user' },
  action: 'deployments.create',
  resource: { kind: 'deployment', name: `d${i}` },
  environment: 'staging',
  outcome: 'success',
  status: null,
  requestId: `r${i}`,
  sourceAddress: '127.0.0.1',
  summary: `POST /api/v1/deployments {"name":"d${i}"}`,
});

function chain(n: number): AuditEvent[] {
  const events: AuditEvent[] = [];
  let prevHash = GENESIS_HASH;
  for (let seq = 1; seq <= n; seq++) {
    const e = {
      ...sealAuditEvent(draft(seq), { seq, prevHash, time: new Date(1e12 + seq).toISOString() }),
      resourceVersion: seq,
    };
    events.push(e);
    prevHash = e.hash;
  }
  return events;
}

const { privateKey, publicKey } = generateKeyPairSync('ed25519');
const keyId = keyIdOf(publicKey);
const trustedKeys = new Map([[keyId, publicKey]]);
function checkpointOf(e: AuditEvent): Omit<AuditCheckpoint, 'resourceVersion'> {
  const c = { seq: e.seq, hash: e.hash, time: new Date().toISOString() };
  return { ...c, keyId, signature: sign(null, checkpointMessage(c), privateKey).toString('base64') };
}
const headOf = (e: AuditEvent | undefined) =>
  e === undefined ? undefined : { seq: e.seq, hash: e.hash, resourceVersion: 1 };

describe('canonical JSON and sealing', () => {
  test('keys sorted at every level, no whitespace, undefined members left out', () => {
    assert.equal(
      canonicalJson({ b: 1, a: { d: [1, 'x', null], c: true }, u: undefined }),
      '{"a":{"c":true,"d":[1,"x",null]},"b":1}',
    );
  });
  test('the hash covers prevHash and every field; extra fields are not hashed', () => {
    const [e1] = chain(1);
    assert.equal(e1!.prevHash, GENESIS_HASH);
    assert.equal(auditEventHash(e1!), e1!.hash);
    assert.notEqual(auditEventHash({ ...e1!, prevHash: 'f'.repeat(64) }), e1!.hash);
    assert.notEqual(auditEventHash({ ...e1!, outcome: 'denied' }), e1!.hash);
    const restored: AuditEvent = { ...e1!, resourceVersion: 99 };
    assert.equal(auditEventHash(restored), e1!.hash);
  });
});

describe('verifyAuditChain', () => {
  test('an intact chain with its checkpoint verifies', async () => {
    const events = chain(5);
    const r = await verifyAuditChain({
      events,
      head: headOf(events[4]),
      checkpoints: [checkpointOf(events[2]!), checkpointOf(events[4]!)],
      trustedKeys,
    });
    assert.equal(r.ok, true, JSON.stringify(r.problems));
    assert.equal(r.events, 5);
    assert.equal(r.checkpoints, 2);
    assert.deepEqual(r.last, { seq: 5, hash: events[4]!.hash });
  });

  test('an edited event is a hash mismatch naming it', async () => {
    const events = chain(5);
    events[2] = { ...events[2]!, summary: 'nothing to see' };
    const r = await verifyAuditChain({ events, head: headOf(events[4]), checkpoints: [], trustedKeys });
    assert.equal(r.ok, false);
    assert.equal(r.firstProblem?.reason, 'hash-mismatch');
    assert.equal(r.firstProblem?.seq, 3);
    assert.match(r.firstProblem!.message, /^event 3: hash mismatch/);
  });

  test('an edited event whose hash was recomputed breaks the next link', async () => {
    const events = chain(5);
    const edited = { ...events[2]!, outcome: 'denied' as const };
    events[2] = { ...edited, hash: auditEventHash(edited) };
    const r = await verifyAuditChain({ events, head: headOf(events[4]), checkpoints: [], trustedKeys });
    assert.equal(r.firstProblem?.reason, 'broken-link');
    assert.equal(r.firstProblem?.seq, 4);
  });

  test('a deleted event is a gap naming it', async () => {
    const events = chain(5);
    events.splice(1, 1);
    const r = await verifyAuditChain({ events, head: headOf(events.at(-1)), checkpoints: [], trustedKeys });
    assert.equal(r.firstProblem?.reason, 'gap-or-reorder');
    assert.equal(r.firstProblem?.seq, 2);
  });

  test('two swapped events are a reorder naming the first', async () => {
    const events = chain(5);
    [events[1], events[2]] = [events[2]!, events[1]!];
    const r = await verifyAuditChain({ events, head: headOf(events[4]), checkpoints: [], trustedKeys });
    assert.equal(r.firstProblem?.reason, 'gap-or-reorder');
    assert.equal(r.firstProblem?.seq, 2);
  });

  test('a deleted tail with the head rewound is truncation below a checkpoint', async () => {
    const events = chain(6);
    const checkpoints = [checkpointOf(events[5]!)];
    const kept = events.slice(0, 4);
    const r = await verifyAuditChain({ events: kept, head: headOf(kept[3]), checkpoints, trustedKeys });
    assert.equal(r.firstProblem?.reason, 'truncated');
    assert.equal(r.firstProblem?.seq, 5);
    assert.match(r.firstProblem!.message, /events 5…6 were deleted/);
  });

  test('a deleted tail with the head left in place is truncation too', async () => {
    const events = chain(6);
    const r = await verifyAuditChain({
      events: events.slice(0, 4),
      head: headOf(events[5]),
      checkpoints: [],
      trustedKeys,
    });
    assert.equal(r.firstProblem?.reason, 'truncated');
    assert.equal(r.firstProblem?.seq, 5);
  });

  test('a checkpoint with a bad signature, or by an unknown key, is named', async () => {
    const events = chain(3);
    const good = checkpointOf(events[2]!);
    const forged = { ...good, hash: 'a'.repeat(64) };
    const other = generateKeyPairSync('ed25519');
    const c = { seq: 3, hash: events[2]!.hash, time: good.time };
    const foreign = {
      ...c,
      keyId: keyIdOf(other.publicKey),
      signature: sign(null, checkpointMessage(c), other.privateKey).toString('base64'),
    };
    for (const bad of [forged, foreign]) {
      const r = await verifyAuditChain({ events, head: headOf(events[2]), checkpoints: [bad], trustedKeys });
      assert.equal(r.firstProblem?.reason, 'bad-checkpoint-signature');
      assert.equal(r.firstProblem?.seq, 3);
    }
  });

  test('a chain rewritten from an event on (all hashes recomputed) differs from the signed checkpoint', async () => {
    const events = chain(4);
    const checkpoints = [checkpointOf(events[3]!)];
    // Rewrite event 2 and re-seal 2…4 so every hash and link holds.
    const rewritten = events.slice(0, 1);
    let prev = events[0]!.hash;
    for (let seq = 2; seq <= 4; seq++) {
      const e = {
        ...sealAuditEvent(
          { ...draft(seq), summary: 'rewritten' },
          { seq, prevHash: prev, time: events[seq - 1]!.time },
        ),
        resourceVersion: seq,
      };
      rewritten.push(e);
      prev = e.hash;
    }
    const r = await verifyAuditChain({ events: rewritten, head: headOf(rewritten[3]), checkpoints, trustedKeys });
    assert.equal(r.firstProblem?.reason, 'checkpoint-mismatch');
    assert.equal(r.firstProblem?.seq, 4);
  });
});

describe('summaries and actions', () => {
  test('values of secret-like fields never reach a summary', () => {
    const s = auditSummary('PUT', '/api/v1/environments/prod/secrets/db', {
      data: { PASSWORD: 'hunter2' },
      value: 's3cret-value',
      nested: [{ token: 'wharf_abc_def', apiKey: 'k-123', clientSecret: 'cs', password: 'pw', name: 'ok' }],
    });
    for (const secret of ['hunter2', 's3cret-value', 'wharf_abc_def', 'k-123', '"cs"', '"pw"'])
      assert.ok(!s.includes(secret), `${secret} in ${s}`);
    assert.match(s, /"name":"ok"/);
    assert.ok(auditSummary('POST', '/x', { text: 'y'.repeat(1000) }).length <= 400);
  });

  test('method and route pattern give the action, resource and environment', () => {
    assert.deepEqual(
      describeRequest('POST', '/api/v1/environments/:environment/deployments/:name/rollback', {
        environment: 'staging',
        name: 'risk',
      }),
      {
        action: 'deployments.rollback',
        resource: { kind: 'deployment', name: 'risk' },
        environment: 'staging',
        audited: true,
      },
    );
    assert.deepEqual(
      describeRequest('POST', '/api/v1/deployments', {}, { body: { name: 'risk', environment: 'production' } }),
      {
        action: 'deployments.create',
        resource: { kind: 'deployment', name: 'risk' },
        environment: 'production',
        audited: true,
      },
    );
    assert.equal(describeRequest('POST', '/api/v1/models/:name/versions', { name: 'm' }).action, 'models.push');
    assert.equal(
      describeRequest('PATCH', '/api/v1/environments/:name', { name: 'production' }).environment,
      'production',
    );
    const secret = describeRequest('GET', '/api/v1/environments/:environment/secrets/:name', {
      environment: 'prod',
      name: 'db',
    });
    assert.equal(secret.action, 'secrets.read');
    assert.equal(secret.audited, true);
    assert.equal(describeRequest('POST', '/api/v1/auth/login', {}).action, 'auth.login');
    assert.equal(
      describeRequest('GET', '/api/v1/environments/:environment/deployments/:name', { environment: 'e', name: 'n' })
        .audited,
      false,
    );
  });
});
