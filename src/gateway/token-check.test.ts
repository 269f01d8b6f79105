import assert from 'node:assert/strict';
import { test } from 'node:test';
import { newTokenString, tokenHash } from '../core/identity/token-string.js';
import { RouteTokenCheck, TokenDirectory } from './token-check.js';

const GOOD = newTokenString();
const OTHER = newTokenString();
const NOW = Date.parse('2026-12-02T12:00:00Z');

function check(expiresAt: string | null = null) {
  const directory = new TokenDirectory();
  const mine = { tokens: [{ id: GOOD.id, hash: tokenHash(GOOD.token), expiresAt }] };
  const theirs = { tokens: [{ id: OTHER.id, hash: tokenHash(OTHER.token), expiresAt: null }] };
  directory.add(mine);
  directory.add(theirs);
  return new RouteTokenCheck(mine, directory);
}

/** `token` with its last secret character changed: same id, same length, wrong hash. */
const mistyped = (token: string) => token.slice(0, -1) + (token.endsWith('A') ? 'B' : 'A');

test('a listed token is accepted by id and hash, and its id is returned', () => {
  assert.deepEqual(check().check(`Bearer ${GOOD.token}`, NOW), { ok: true, tokenId: GOOD.id });
  assert.deepEqual(check().check(`bearer   ${GOOD.token}`, NOW), { ok: true, tokenId: GOOD.id }, 'scheme in any case');
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
  assert.equal(reason(`Bearer ${GOOD.token}x`), 'malformed', 'a secret of the wrong length');
  assert.equal(reason(`Bearer ${GOOD.token} ${GOOD.token}`), 'malformed');
  assert.equal(reason(`Bearer ${mistyped(GOOD.token)}`), 'invalid', 'right id, wrong secret');
  assert.equal(reason(`Bearer ${newTokenString().token}`), 'invalid', 'unknown id');
  assert.equal(reason(`Bearer ${mistyped(OTHER.token)}`), 'invalid', "another route's id with a wrong secret");
  assert.equal(reason(`Bearer ${OTHER.token}`), 'forbidden', "another route's valid token");
  assert.equal(reason(`Bearer ${GOOD.token}`, check('2026-12-02T11:59:59Z')), 'expired');
  assert.equal(reason(`Bearer ${GOOD.token}`, check('2026-12-02T12:00:00Z')), 'expired', 'refused from its expiry on');
  assert.equal(reason(`Bearer ${GOOD.token}`, check('2026-12-02T12:00:01Z')), 'ok');
});

test('a verified header is remembered per table: still refused once expired, and a new table hashes it again', () => {
  const soon = new Date(NOW + 1_000).toISOString();
  const c = check(soon);
  const header = `Bearer ${GOOD.token}`;
  assert.equal(c.check(header, NOW).ok, true);
  assert.equal(c.check(header, NOW + 999).ok, true, 'remembered');
  assert.deepEqual(c.check(header, NOW + 1_000), { ok: false, reason: 'expired' }, 'expiry is checked on a hit too');
  // A table without the token (revoked): its check knows nothing of the old one's memory.
  const revoked = new RouteTokenCheck({ tokens: [] }, new TokenDirectory());
  assert.deepEqual(revoked.check(header, NOW), { ok: false, reason: 'invalid' });
  // Only values that passed are kept: a wrong one is refused every time.
  assert.deepEqual(c.check(`Bearer ${mistyped(GOOD.token)}`, NOW), { ok: false, reason: 'invalid' });
  assert.deepEqual(c.check(`Bearer ${mistyped(GOOD.token)}`, NOW), { ok: false, reason: 'invalid' });
});
