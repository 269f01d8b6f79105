/**
 * The identity API over a real control plane (SQLite): users and service accounts (admins only),
 * login and whoami, and API tokens: created with scopes and an expiry (the string shown once, no
 * answer with a hash), `lastUsed` recorded, a revoked token refused at once, an expired one
 * refused, scopes never wider than the credential that makes a token, other people's tokens
 * invisible and unrevocable to non-admins; and malformed input answered 4xx, never 500.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type ControlPlane, startControlPlane } from '../src/server/control-plane.js';
import { AccessAdmin } from '../src/services/access/access-admin.js';
import { eventually } from './support/eventually.js';

const PASSWORD = 'alice-password-1';

interface Answer {
  status: number;
  text: string;
  body: Record<string, unknown> & { error?: { code: string; message: string } };
}

describe('identity API (SQLite control plane)', () => {
  let home = '';
  let cp: ControlPlane;
  let admin = '';
  let alice = '';

  const api = async (
    path: string,
    options: { method?: string; json?: unknown; body?: string; as?: string | null } = {},
  ): Promise<Answer> => {
    const token = options.as === undefined ? admin : options.as;
    const r = await fetch(`${cp.apiUrl}${path}`, {
      method: options.method ?? (options.json === undefined && options.body === undefined ? 'GET' : 'POST'),
      headers: {
        'content-type': 'application/json',
        ...(token === null ? {} : { authorization: `Bearer ${token}` }),
      },
      ...(options.json !== undefined ? { body: JSON.stringify(options.json) } : {}),
      ...(options.body !== undefined ? { body: options.body } : {}),
    });
    const text = await r.text();
    let body: Answer['body'] = {};
    try {
      body = JSON.parse(text) as Answer['body'];
    } catch {
      // not JSON: the assertions on `text` say so
    }
    return { status: r.status, text, body };
  };

  before(async () => {
    home = await mkdtemp(join(tmpdir(), 'wharf-identity-api-'));
    cp = await startControlPlane({ home, host: '127.0.0.1', port: 0, gatewayPort: 0, log: () => {} });
    admin = cp.adminToken!;
    const created = await api('/api/v1/users', { json: { name: 'Alice', groups: ['ml'], password: PASSWORD } });
    assert.equal(created.status, 201, created.text);
    // A deployer everywhere: what lets alice make tokens of her own (tokens:create).
    await new AccessAdmin(cp.store).createBinding(
      { subject: { type: 'user', id: created.body.id as string }, role: 'deployer', environment: '*' },
      'user:admin',
    );
    const login = await api('/api/v1/auth/login', { json: { name: 'alice', password: PASSWORD }, as: null });
    assert.equal(login.status, 200, login.text);
    alice = login.body.token as string;
  });
  after(async () => {
    await cp?.stop();
    await rm(home, { recursive: true, force: true });
  });

  test('users: created by an admin, never answered with a hash or password; Alice and alice are one name', async () => {
    const list = await api('/api/v1/users');
    assert.equal(list.status, 200, list.text);
    const names = (list.body.items as { name: string }[]).map((u) => u.name);
    assert.deepEqual(names.sort(), ['admin', 'alice']);
    assert.doesNotMatch(list.text, /scrypt|passwordHash|password"/);
    assert.ok(!list.text.includes(PASSWORD));
    const again = await api('/api/v1/users', { json: { name: 'ALICE' } });
    assert.equal(again.status, 409, again.text);
    assert.equal(again.body.error?.code, 'ALREADY_EXISTS');
    const one = await api('/api/v1/users/Alice');
    assert.equal(one.status, 200, one.text);
    assert.deepEqual(one.body.groups, ['ml']);
    assert.equal(one.body.hasPassword, true);
    assert.ok(!one.text.includes('scrypt'));
    // Not an admin: refused.
    const byAlice = await api('/api/v1/users', { json: { name: 'mallory' }, as: alice });
    assert.equal(byAlice.status, 403, byAlice.text);
    assert.equal(byAlice.body.error?.code, 'PERMISSION_DENIED');
    assert.equal((await api('/api/v1/users', { as: alice })).status, 403);
  });

  test('login and whoami: the user, its groups, the session token and its expiry; one 401 for every refusal', async () => {
    const me = await api('/api/v1/auth/whoami', { as: alice });
    assert.equal(me.status, 200, me.text);
    assert.equal(me.body.name, 'alice');
    assert.match(me.body.id as string, /^user:[a-z2-7]{16}$/);
    assert.equal(me.body.type, 'user');
    assert.equal(me.body.via, 'token');
    assert.deepEqual(me.body.groups, ['ml'], 'groups come from the user record');
    assert.deepEqual(me.body.scopes, ['*']);
    assert.equal(me.body.tokenId, alice.slice(6, 18));
    assert.ok(Date.parse(me.body.expiresAt as string) > Date.now() + 11 * 3_600_000);
    const adminMe = await api('/api/v1/auth/whoami');
    assert.equal(adminMe.body.id, 'user:admin');
    assert.equal(adminMe.body.expiresAt, null);

    const refusals = await Promise.all([
      api('/api/v1/auth/login', { json: { name: 'alice', password: 'wrong-password' }, as: null }),
      api('/api/v1/auth/login', { json: { name: 'nobody', password: PASSWORD }, as: null }),
      api('/api/v1/auth/login', { json: { name: 'admin', password: PASSWORD }, as: null }),
    ]);
    for (const r of refusals) {
      assert.equal(r.status, 401, r.text);
      assert.equal(r.body.error?.code, 'UNAUTHENTICATED');
      assert.ok(!r.text.includes(PASSWORD));
    }
    assert.equal(new Set(refusals.map((r) => r.body.error?.message)).size, 1, 'the same message');
    assert.equal((await api('/api/v1/auth/whoami', { as: null })).status, 401);
  });

  test('tokens: create with scopes and expiry (shown once), list without secrets, lastUsed recorded, revoked → 401 at once', async () => {
    const created = await api('/api/v1/tokens', {
      json: { name: 'ci reads', scopes: ['deployments:read', 'models:read'], expiresIn: '30d' },
      as: alice,
    });
    assert.equal(created.status, 201, created.text);
    const token = created.body.token as string;
    assert.match(token, /^wharf_[a-z2-7]{12}_/);
    assert.equal(created.body.ownerName, 'alice');
    assert.deepEqual(created.body.scopes, ['deployments:read', 'models:read']);
    const days = (Date.parse(created.body.expiresAt as string) - Date.now()) / 86_400_000;
    assert.ok(days > 29.9 && days <= 30, `30 days, got ${days}`);
    assert.ok(!('hash' in created.body));

    const whoami = await api('/api/v1/auth/whoami', { as: token });
    assert.equal(whoami.status, 200, whoami.text);
    assert.deepEqual(whoami.body.scopes, ['deployments:read', 'models:read']);
    const used = await eventually(
      async () => {
        const list = await api('/api/v1/tokens', { as: alice });
        const mine = (list.body.items as { id: string; lastUsedAt: string | null }[]).find(
          (t) => t.id === created.body.id,
        );
        return mine?.lastUsedAt ?? undefined;
      },
      { timeoutMs: 5_000, intervalMs: 50, message: 'lastUsedAt of the used token' },
    );
    assert.ok(Date.parse(used) <= Date.now());

    const list = await api('/api/v1/tokens', { as: alice });
    const items = list.body.items as { owner: string; state: string }[];
    assert.ok(
      items.every((t) => t.owner === whoami.body.id),
      'alice lists only her own tokens',
    );
    assert.ok(!list.text.includes(token.slice(19)), 'no token string in a list');
    assert.doesNotMatch(list.text, /"hash"/);

    const revoked = await api(`/api/v1/tokens/${created.body.id as string}`, { method: 'DELETE', as: alice });
    assert.equal(revoked.status, 200, revoked.text);
    assert.equal(revoked.body.state, 'revoked');
    const refused = await api('/api/v1/auth/whoami', { as: token });
    assert.equal(refused.status, 401, refused.text);
    assert.match(refused.body.error!.message, /was revoked/);
  });

  test('an expired token is refused with a 401 saying so', async () => {
    const { token, record } = await cp.tokens.mint({
      owner: 'user:admin',
      ownerName: 'admin',
      name: 'short',
      scopes: ['*'],
      expiresAt: new Date(Date.now() + 400),
    });
    assert.equal((await api('/api/v1/auth/whoami', { as: token })).status, 200);
    const refused = await eventually(
      async () => {
        const r = await api('/api/v1/auth/whoami', { as: token });
        return r.status === 401 ? r : undefined;
      },
      { timeoutMs: 5_000, intervalMs: 50, message: 'the token expires' },
    );
    assert.match(refused.body.error!.message, new RegExp(`token ${record.id} expired at`));
  });

  test('scopes: a token cannot make a wider one; non-admins neither see, revoke nor make others’ tokens', async () => {
    const narrow = await api('/api/v1/tokens', { json: { name: 'narrow', scopes: ['tokens:create'] }, as: alice });
    assert.equal(narrow.status, 201, narrow.text);
    const wider = await api('/api/v1/tokens', { json: { name: 'wider' }, as: narrow.body.token as string });
    assert.equal(wider.status, 403, wider.text);
    assert.match(wider.body.error!.message, /^scopes: "\*" is wider than the scopes/);

    const sa = await api('/api/v1/serviceaccounts', { json: { name: 'ci-bot', description: 'CI' } });
    assert.equal(sa.status, 201, sa.text);
    const forSa = await api('/api/v1/tokens', { json: { name: 'x', serviceAccount: 'ci-bot' }, as: alice });
    assert.equal(forSa.status, 403, forSa.text);
    assert.match(forSa.body.error!.message, /tokens:admin/);
    const byAdmin = await api('/api/v1/tokens', {
      json: { name: 'ci deploys', serviceAccount: 'CI-Bot', scopes: ['deployments:read'], expiresIn: '7d' },
    });
    assert.equal(byAdmin.status, 201, byAdmin.text);
    const saMe = await api('/api/v1/auth/whoami', { as: byAdmin.body.token as string });
    assert.equal(saMe.body.type, 'serviceAccount');
    assert.equal(saMe.body.id, sa.body.id);
    assert.equal(saMe.body.name, 'ci-bot');

    const aliceList = await api('/api/v1/tokens', { as: alice });
    assert.ok(!(aliceList.body.items as { id: string }[]).some((t) => t.id === byAdmin.body.id));
    const adminList = await api('/api/v1/tokens');
    assert.ok(
      (adminList.body.items as { id: string }[]).some((t) => t.id === byAdmin.body.id),
      'admins list all',
    );
    const steal = await api(`/api/v1/tokens/${byAdmin.body.id as string}`, { method: 'DELETE', as: alice });
    assert.equal(steal.status, 404, steal.text);
    assert.equal((await api('/api/v1/auth/whoami', { as: byAdmin.body.token as string })).status, 200);
    const adminRevokes = await api(`/api/v1/tokens/${byAdmin.body.id as string}`, { method: 'DELETE' });
    assert.equal(adminRevokes.status, 200, adminRevokes.text);
    assert.equal((await api('/api/v1/auth/whoami', { as: byAdmin.body.token as string })).status, 401);
  });

  test('an infer scope needs the infer permission in its environment: an approver cannot mint a way into an endpoint', async () => {
    const carol = await api('/api/v1/users', { json: { name: 'carol', password: PASSWORD } });
    assert.equal(carol.status, 201, carol.text);
    await new AccessAdmin(cp.store).createBinding(
      { subject: { type: 'user', id: carol.body.id as string }, role: 'approver', environment: 'production' },
      'user:admin',
    );
    const login = await api('/api/v1/auth/login', { json: { name: 'carol', password: PASSWORD }, as: null });
    assert.equal(login.status, 200, login.text);
    const session = login.body.token as string;
    const infer = await api('/api/v1/tokens', { json: { name: 'in', scopes: ['infer:production'] }, as: session });
    assert.equal(infer.status, 403, infer.text);
    assert.match(infer.body.error!.message, /needs the infer permission in environment production/);
    const read = await api('/api/v1/tokens', { json: { name: 'read', scopes: ['approvals:read'] }, as: session });
    assert.equal(read.status, 201, read.text);
    // alice deploys everywhere (deployer): she may.
    const byAlice = await api('/api/v1/tokens', { json: { name: 'in', scopes: ['infer:production/risk'] }, as: alice });
    assert.equal(byAlice.status, 201, byAlice.text);
  });

  test('a disabled user is refused at once; a deleted user’s tokens stop working', async () => {
    await api('/api/v1/users', { json: { name: 'henry', password: PASSWORD } });
    const login = await api('/api/v1/auth/login', { json: { name: 'henry', password: PASSWORD }, as: null });
    const henry = login.body.token as string;
    assert.equal((await api('/api/v1/auth/whoami', { as: henry })).status, 200);
    const disabled = await api('/api/v1/users/henry', { method: 'PATCH', json: { disabled: true } });
    assert.equal(disabled.status, 200, disabled.text);
    const refused = await api('/api/v1/auth/whoami', { as: henry });
    assert.equal(refused.status, 401, refused.text);
    assert.match(refused.body.error!.message, /user henry is disabled/);
    await api('/api/v1/users/henry', { method: 'PATCH', json: { disabled: false } });
    assert.equal((await api('/api/v1/auth/whoami', { as: henry })).status, 200);
    const deleted = await api('/api/v1/users/henry', { method: 'DELETE' });
    assert.deepEqual(deleted.body, { deleted: 'henry', revokedTokens: 1 });
    assert.equal((await api('/api/v1/auth/whoami', { as: henry })).status, 401);
  });

  test('logout revokes the session token it is called with', async () => {
    const login = await api('/api/v1/auth/login', { json: { name: 'alice', password: PASSWORD }, as: null });
    const session = login.body.token as string;
    const out = await api('/api/v1/auth/logout', { method: 'POST', as: session });
    assert.equal(out.status, 200, out.text);
    assert.equal(out.body.revoked, login.body.tokenId);
    assert.equal((await api('/api/v1/auth/whoami', { as: session })).status, 401);
  });

  test('malformed input is a 4xx naming the field, never a 500, never echoing a password', async () => {
    const secret = 'Sup3r-secret-value';
    const cases: [string, Parameters<typeof api>[1], number][] = [
      ['/api/v1/auth/login', { body: '{"name":', as: null }, 400],
      ['/api/v1/auth/login', { json: { name: 'alice' }, as: null }, 400],
      ['/api/v1/auth/login', { json: { name: ['alice'], password: secret }, as: null }, 400],
      ['/api/v1/auth/login', { json: { name: 'alice', password: secret, extra: 1 }, as: null }, 400],
      ['/api/v1/auth/login', { json: { name: 'x'.repeat(5000), password: secret }, as: null }, 401],
      ['/api/v1/auth/login', { json: { name: 'alice', password: secret.repeat(200) }, as: null }, 401],
      ['/api/v1/users', { json: { name: 'bad name!', password: secret } }, 400],
      ['/api/v1/users', { json: { name: 'okname', password: 'short' } }, 400],
      ['/api/v1/users', { json: { name: 'okname', password: 12345678 } }, 400],
      ['/api/v1/users', { json: { name: 'okname', groups: [1] } }, 400],
      ['/api/v1/users', { json: [] }, 400],
      ['/api/v1/users/%2F..%2F', {}, 400],
      ['/api/v1/users/nobody', {}, 404],
      ['/api/v1/users/nobody', { method: 'PATCH', json: { disabled: 'yes' } }, 400],
      ['/api/v1/users/alice/password', { method: 'PUT', json: { password: 'short' } }, 400],
      ['/api/v1/serviceaccounts', { json: { name: '' } }, 400],
      ['/api/v1/serviceaccounts', { json: { name: 'ok', description: 'x'.repeat(600) } }, 400],
      ['/api/v1/tokens', { json: { name: 'x', scopes: ['everything'] } }, 400],
      ['/api/v1/tokens', { json: { name: 'x', scopes: [] } }, 400],
      ['/api/v1/tokens', { json: { name: 'x', expiresIn: '5 years' } }, 400],
      ['/api/v1/tokens', { json: { name: 'x', expiresIn: '400d' } }, 400],
      ['/api/v1/tokens', { json: { name: '' } }, 400],
      ['/api/v1/tokens', { json: { name: 'x', serviceAccount: 'nobody' } }, 404],
      ['/api/v1/tokens/not-a-token-id', { method: 'DELETE' }, 404],
      ['/api/v1/tokens/aaaaaaaaaaaa', { method: 'DELETE' }, 404],
      ['/api/v1/auth/whoami', { as: 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln' }, 401],
      ['/api/v1/auth/whoami', { as: 'not.a.jwt' }, 401],
    ];
    for (const [path, options, status] of cases) {
      const r = await api(path, options);
      const what =
        `${options?.method ?? 'POST/GET'} ${path} ${JSON.stringify(options?.json ?? options?.body ?? '')}`.slice(
          0,
          200,
        );
      assert.equal(r.status, status, `${what}: ${r.text}`);
      assert.ok(
        typeof r.body.error?.code === 'string' && typeof r.body.error.message === 'string',
        `${what}: ${r.text}`,
      );
      assert.ok(!r.text.includes(secret), `${what}: the answer does not echo the password`);
      if (status === 400) assert.match(r.body.error.message, /^[\w.[\]]+: /, `${what}: names the field`);
    }
  });
});
