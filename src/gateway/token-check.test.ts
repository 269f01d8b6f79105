import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { bearerToken, RouteTokenCheck, TokenDirectory } from './token-check.js';

const hex = (token: string) => createHash('sha256').update(token).digest('hex');
const GOOD = 'wharf_abc123_s3cr3t-with_underscores';
const OTHER = 'wharf_zzz9_another-secret';
const NOW = Date.parse('2026-12-02T12:00:00Z');

function check(expiresAt: string | null = null) {
  const directory = new TokenDirectory();
  const mine = { tokens: [{ id: 'abc123', hash: hex(GOOD), expiresAt }] };
  const theirs = { tokens: [{ id: 'zzz9', hash: hex(OTHER), expiresAt: null }] };
  directory.add(mine);
  directory.add(theirs);
  return new RouteTokenCheck(mine, directory);
}

test('a listed token is accepted by id and hash, and its id is returned', () => {
  assert.deepEqual(check().check(`Bearer ${GOOD}`, NOW), { ok: true, tokenId: 'abc123' });
  assert.deepEqual(check().check(`bearer   ${GOOD}`, NOW), { ok: true, tokenId: 'abc123' }, 'scheme case-insensitive');
});

test('refusals say why: missing, malformed, invalid, expired, forbidden', () => {
  const reason = (header: string | undefined, c = check()) => {
    const verdict = c.check(header, NOW);
    return verdict.ok ? 'ok' : verdict.reason;
  };
  assert.equal(reason(undefined), 'missing');
  assert.equal(reason(''), 'missing');
  assert.equal(reason(`Basic ${Buffer.from('a:b').toString('base64')}`), 'malformed');
  assert.equal(reason('Bearer not-a-wharf-token'), 'malformed');
  assert.equal(reason('Bearer wharf__secret'), 'malformed', 'empty id');
  assert.equal(reason('Bearer wharf_abc123_'), 'malformed', 'empty secret');
  assert.equal(reason(`Bearer ${GOOD}x`), 'invalid', 'right id, wrong secret');
  assert.equal(reason('Bearer wharf_nosuch_secret'), 'invalid', 'unknown id');
  assert.equal(
    reason(`Bearer wharf_zzz9_${'x'.repeat(10)}`),
    'invalid',
    'another route id with a wrong secret is invalid, not forbidden',
  );
  assert.equal(reason(`Bearer ${OTHER}`), 'forbidden', "another route's valid token");
  assert.equal(reason(`Bearer ${GOOD}`, check('2026-12-02T11:59:59Z')), 'expired');
  assert.equal(reason(`Bearer ${GOOD}`, check('2026-12-02T12:00:01Z')), 'ok');
  assert.equal(reason(`Bearer wharf_abc123_${'x'.repeat(600)}`), 'malformed', 'oversized credentials are not hashed');
});

test('bearerToken takes the token after the scheme, and nothing else', () => {
  assert.equal(bearerToken(`Bearer ${GOOD}`), GOOD);
  assert.equal(bearerToken(`Bearer ${GOOD}  `), GOOD);
  assert.equal(bearerToken(GOOD), undefined, 'no scheme');
  assert.equal(bearerToken(`Token ${GOOD}`), undefined);
});
