/**
 * Authentication is on by default: the first start of a control plane writes the admin token to
 * `$WHARF_HOME/credentials` (0600) and no later start mints another; every API route but health
 * and readiness needs a credential; every refused token is a 401 that says why without echoing
 * it; only the token's hash reaches the database; `--auth none` is loopback only.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { type ControlPlane, startControlPlane } from '../src/server/control-plane.js';
import { readCredentials } from '../src/server/credentials-file.js';
import { tokenHash } from '../src/core/identity/token-string.js';
import { letTimePass } from './support/eventually.js';
import { WHARF_BIN } from './support/processes.js';

const run = promisify(execFile);

async function call(
  cp: ControlPlane,
  path: string,
  authorization?: string,
): Promise<{ status: number; headers: Headers; text: string }> {
  const r = await fetch(`${cp.apiUrl}${path}`, {
    headers: authorization === undefined ? {} : { authorization },
  });
  return { status: r.status, headers: r.headers, text: await r.text() };
}

function errorOf(text: string): { code: string; message: string } {
  return (JSON.parse(text) as { error: { code: string; message: string } }).error;
}

describe('authentication on by default (SQLite control plane)', () => {
  let home = '';
  let cp: ControlPlane;
  before(async () => {
    home = await mkdtemp(join(tmpdir(), 'wharf-authn-'));
    cp = await startControlPlane({ home, host: '127.0.0.1', port: 0, gatewayPort: 0, log: () => {} });
  });
  after(async () => {
    await cp?.stop();
    await rm(home, { recursive: true, force: true });
  });

  test('the first start writes a working admin token to $WHARF_HOME/credentials, readable by its owner only', async () => {
    const file = join(home, 'credentials');
    assert.equal(cp.credentialsWritten, file);
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    const credentials = readCredentials(file)!;
    assert.equal(credentials.user, 'admin');
    assert.match(credentials.token, /^wharf_[a-z2-7]{12}_[A-Za-z0-9_-]{43}$/);
    assert.equal(cp.adminToken, credentials.token);
    const ok = await call(cp, '/api/v1/environments', `Bearer ${credentials.token}`);
    assert.equal(ok.status, 200, ok.text);
  });

  test('without a credential: 401 with WWW-Authenticate and a message saying what to send; health and readiness stay open', async () => {
    for (const path of ['/api/v1/environments', '/api/v1/deployments', '/api/v1/models', '/metrics', '/no/such/path']) {
      const r = await call(cp, path);
      assert.equal(r.status, 401, `${path}: ${r.text}`);
      assert.equal(r.headers.get('www-authenticate'), 'Bearer realm="wharf"');
      const error = errorOf(r.text);
      assert.equal(error.code, 'UNAUTHENTICATED');
      assert.match(error.message, /Authorization: Bearer/);
    }
    assert.equal((await call(cp, '/healthz')).status, 200);
    assert.equal((await call(cp, '/readyz')).status, 200);
  });

  test('every refused token is a 401 naming why, never a 500, never echoing the token', async () => {
    const { token: expiring, record } = await cp.tokens.mint({
      owner: 'user:ed',
      ownerName: 'ed',
      name: 'short-lived',
      scopes: ['*'],
      expiresAt: new Date(Date.now() + 300),
    });
    const { token: revoked } = await cp.tokens.mint({
      owner: 'user:ed',
      ownerName: 'ed',
      name: 'to revoke',
      scopes: ['*'],
      expiresAt: new Date(Date.now() + 3_600_000),
    });
    await cp.tokens.revoke(revoked.slice(6, 18));
    const admin = cp.adminToken!;
    const wrongSecret = `${admin.slice(0, 19)}${admin.slice(19).split('').reverse().join('')}`;
    const unknownId = `wharf_aaaaaaaaaaaa_${admin.slice(19)}`;
    await letTimePass(
      Math.max(0, Date.parse(record.expiresAt!) - Date.now() + 50),
      'the short-lived token expires: the API checks expiry against the wall clock',
    );
    const cases: [string, string, RegExp][] = [
      ['Basic YWRtaW46YWRtaW4=', 'not a bearer', /expected "Bearer <token>"/],
      ['Bearer not-a-wharf-token', 'malformed', /malformed/],
      [`Bearer ${unknownId}`, 'unknown id', /not known/],
      [`Bearer ${wrongSecret}`, 'wrong secret', /not known/],
      [`Bearer ${revoked}`, 'revoked', /was revoked at/],
      [`Bearer ${expiring}`, 'expired', /expired at/],
    ];
    for (const [header, what, message] of cases) {
      const r = await call(cp, '/api/v1/environments', header);
      assert.equal(r.status, 401, `${what}: ${r.text}`);
      const error = errorOf(r.text);
      assert.equal(error.code, 'UNAUTHENTICATED', what);
      assert.match(error.message, message, what);
      const secret = header.replace(/^\S+\s+/, '');
      assert.ok(!r.text.includes(secret), `${what}: the answer does not echo the credential`);
    }
  });

  test('the store keeps a token only as its SHA-256', async () => {
    const { token, record } = await cp.tokens.mint({
      owner: 'user:ed',
      ownerName: 'ed',
      name: 'hashed',
      scopes: ['*'],
      expiresAt: new Date(Date.now() + 3_600_000),
    });
    assert.equal(record.hash, tokenHash(token));
    assert.ok(!JSON.stringify(await cp.store.tokens.get(record.id)).includes(token.slice(19)));
    const database = await readFile(join(home, 'wharf.db')).catch(() => Buffer.alloc(0));
    const wal = await readFile(join(home, 'wharf.db-wal')).catch(() => Buffer.alloc(0));
    assert.ok(database.length + wal.length > 0, 'the SQLite files were read');
    for (const bytes of [database, wal]) assert.ok(!bytes.includes(token.slice(19)), 'no token secret in SQLite');
  });

  test('the CLI finds the admin token in $WHARF_HOME/credentials, and says what to do without one', async () => {
    const env = { ...process.env, WHARF_URL: cp.apiUrl, WHARF_HOME: home, WHARF_TOKEN: '' };
    const { stdout } = await run(process.execPath, [WHARF_BIN, 'env', 'list'], { env });
    assert.match(stdout, /production/);
    const printed = await run(process.execPath, [WHARF_BIN, 'auth', 'token'], { env });
    assert.equal(printed.stdout.trim(), cp.adminToken);
    const elsewhere = await mkdtemp(join(tmpdir(), 'wharf-authn-empty-'));
    try {
      await assert.rejects(
        run(process.execPath, [WHARF_BIN, 'env', 'list'], { env: { ...env, WHARF_HOME: elsewhere } }),
        (e: { stderr: string; code: number }) => {
          assert.match(e.stderr, /needs a credential/);
          assert.match(e.stderr, /set WHARF_TOKEN/);
          assert.doesNotMatch(e.stderr, /^\s+at /m);
          return e.code !== 0;
        },
      );
    } finally {
      await rm(elsewhere, { recursive: true, force: true });
    }
  });
});

test('a second start on the same home mints no new admin token and writes nothing', async () => {
  const home = await mkdtemp(join(tmpdir(), 'wharf-authn-restart-'));
  try {
    const first = await startControlPlane({ home, host: '127.0.0.1', port: 0, gatewayPort: 0, log: () => {} });
    const token = first.adminToken;
    const minted = (await first.tokens.list()).length;
    await first.stop();
    const second = await startControlPlane({ home, host: '127.0.0.1', port: 0, gatewayPort: 0, log: () => {} });
    try {
      assert.equal(second.credentialsWritten, undefined);
      assert.equal(second.adminToken, token);
      assert.equal((await second.tokens.list()).length, minted, 'no token minted (admin, gateway) on the second start');
    } finally {
      await second.stop();
    }
  } finally {
    await rm(home, { recursive: true, force: true });
  }
});

test('auth none: every caller is an admin, said at start; `wharf up` refuses it on a non-loopback host', async () => {
  const home = await mkdtemp(join(tmpdir(), 'wharf-authn-none-'));
  const lines: string[] = [];
  try {
    const cp = await startControlPlane({
      home,
      host: '127.0.0.1',
      port: 0,
      gatewayPort: 0,
      auth: 'none',
      log: (l) => lines.push(l),
    });
    try {
      assert.equal((await call(cp, '/api/v1/environments')).status, 200);
      assert.ok(
        lines.some((l) => /auth none: every caller acts as an admin/.test(l)),
        lines.join('\n'),
      );
      assert.equal(cp.credentialsWritten, undefined);
    } finally {
      await cp.stop();
    }
    await assert.rejects(
      run(process.execPath, [WHARF_BIN, 'up', '--auth', 'none', '--host', '0.0.0.0', '--home', home, '--no-demo']),
      (e: { stderr: string; code: number }) => {
        assert.match(e.stderr, /--auth none .* loopback --host only/);
        return e.code !== 0;
      },
    );
  } finally {
    await rm(home, { recursive: true, force: true });
  }
});
