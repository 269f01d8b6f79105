/**
 * Single sign-on with bearer JWTs: the test runs an OpenID Connect issuer of its own (an HTTP
 * server on port 0 serving the discovery document and a JWKS; tokens signed here with jose), and a
 * control plane that trusts it. A valid token is the principal `oidc:<issuer>#<sub>` with the
 * groups of the configured claim; an expired one, one for another audience or from another issuer,
 * one signed with a key the issuer does not publish, an `alg: none` one and an HS256 one are each a
 * 401 saying which check failed, never a 500; an issuer that cannot be reached is a 503.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { hasErrorCode } from '../src/core/errors.js';
import { type ControlPlane, startControlPlane } from '../src/server/control-plane.js';
import { AccessAdmin } from '../src/services/access/access-admin.js';
import { OidcVerifier } from '../src/services/identity/oidc.js';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { startWharf, untilWharfUp, WHARF_BIN } from './support/processes.js';

const AUDIENCE = 'wharf-test';

/** An issuer on port 0: discovery + JWKS of one RSA key. */
async function startIssuer(): Promise<{ url: string; key: CryptoKey; server: Server; jwksFetches: () => number }> {
  const { publicKey, privateKey } = await generateKeyPair('RS256');
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
  let fetches = 0;
  const server = createServer((req, res) => {
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    res.setHeader('content-type', 'application/json');
    if (req.url === '/.well-known/openid-configuration')
      return res.end(JSON.stringify({ issuer: base, jwks_uri: `${base}/jwks` }));
    if (req.url === '/jwks') {
      fetches++;
      return res.end(JSON.stringify({ keys: [jwk] }));
    }
    res.statusCode = 404;
    res.end('{}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    key: privateKey,
    server,
    jwksFetches: () => fetches,
  };
}

function b64(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

describe('OIDC bearer tokens (a local issuer, a SQLite control plane)', () => {
  let issuer: Awaited<ReturnType<typeof startIssuer>>;
  let home = '';
  let cp: ControlPlane;

  const sign = (
    claims: Record<string, unknown>,
    options: { key?: CryptoKey | Uint8Array; alg?: string; iss?: string; aud?: string; exp?: number | string } = {},
  ): Promise<string> =>
    new SignJWT(claims)
      .setProtectedHeader({ alg: options.alg ?? 'RS256', kid: 'k1' })
      .setIssuer(options.iss ?? issuer.url)
      .setAudience(options.aud ?? AUDIENCE)
      .setSubject('u-123')
      .setIssuedAt()
      .setExpirationTime(options.exp ?? '5m')
      .sign(options.key ?? issuer.key);

  const whoami = async (token: string): Promise<{ status: number; body: Record<string, unknown>; text: string }> => {
    const r = await fetch(`${cp.apiUrl}/api/v1/auth/whoami`, { headers: { authorization: `Bearer ${token}` } });
    const text = await r.text();
    return { status: r.status, body: JSON.parse(text) as Record<string, unknown>, text };
  };

  before(async () => {
    issuer = await startIssuer();
    home = await mkdtemp(join(tmpdir(), 'wharf-oidc-'));
    cp = await startControlPlane({
      home,
      host: '127.0.0.1',
      port: 0,
      gatewayPort: 0,
      oidc: { issuer: issuer.url, audience: AUDIENCE, groupsClaim: 'roles' },
      log: () => {},
    });
    // The issuer's group `ml` is bound to viewer: what lets its members read (group → role).
    await new AccessAdmin(cp.store).createBinding(
      { subject: { type: 'group', id: 'ml' }, role: 'viewer' },
      'user:admin',
    );
  });
  after(async () => {
    await cp?.stop();
    issuer?.server.close();
    await rm(home, { recursive: true, force: true });
  });

  test('a valid token: principal oidc:<issuer>#<sub>, named by preferred_username, groups from the configured claim', async () => {
    const token = await sign({ preferred_username: 'Dana', email: 'dana@example.org', roles: ['ml', 'approvers'] });
    const r = await whoami(token);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.id, `oidc:${issuer.url}#u-123`);
    assert.equal(r.body.name, 'Dana');
    assert.equal(r.body.type, 'user');
    assert.equal(r.body.via, 'oidc');
    assert.deepEqual(r.body.groups, ['ml', 'approvers']);
    assert.ok(Date.parse(r.body.expiresAt as string) > Date.now());
    // Other API routes take it too.
    const envs = await fetch(`${cp.apiUrl}/api/v1/environments`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(envs.status, 200);
    // Without preferred_username: email, then sub.
    assert.equal((await whoami(await sign({ email: 'eve@example.org' }))).body.name, 'eve@example.org');
    assert.equal((await whoami(await sign({}))).body.name, 'u-123');
    assert.ok(issuer.jwksFetches() >= 1, 'the keys came from the issuer');
  });

  test('expired, wrong audience, wrong issuer, another key, alg none, HS256: a 401 each, saying which check failed', async () => {
    const other = await generateKeyPair('RS256');
    const none = `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ iss: issuer.url, aud: AUDIENCE, sub: 'u-123', exp: Math.floor(Date.now() / 1000) + 300 })}.`;
    const cases: [string, string, RegExp][] = [
      ['expired', await sign({}, { exp: Math.floor(Date.now() / 1000) - 60 }), /OIDC token expired at/],
      ['wrong audience', await sign({}, { aud: 'someone-else' }), /audience \(aud\) does not include wharf-test/],
      ['wrong issuer', await sign({}, { iss: 'https://evil.example' }), /issuer \(iss\) is not http:\/\/127\.0\.0\.1/],
      ['another key', await sign({}, { key: other.privateKey }), /signature does not verify/],
      ['alg none', none, /algorithm "none" is not allowed/],
      [
        'HS256',
        await sign({}, { key: new TextEncoder().encode('x'.repeat(32)), alg: 'HS256' }),
        /algorithm "HS256" is not allowed/,
      ],
      ['not a JWT', 'aGVsbG8.d29ybGQ.', /not a well-formed JWT/],
    ];
    for (const [what, token, message] of cases) {
      const r = await whoami(token);
      assert.equal(r.status, 401, `${what}: ${r.text}`);
      const error = r.body.error as { code: string; message: string };
      assert.equal(error.code, 'UNAUTHENTICATED', what);
      assert.match(error.message, message, `${what}: ${error.message}`);
      assert.ok(!r.text.includes(token), `${what}: the token is not echoed`);
    }
  });

  test('an issuer that cannot be reached is a 503 (retry later), not a 401 or a 500', async () => {
    const dead = createServer();
    await new Promise<void>((r) => dead.listen(0, '127.0.0.1', () => r()));
    const url = `http://127.0.0.1:${(dead.address() as AddressInfo).port}`;
    await new Promise<void>((r) => dead.close(() => r()));
    const verifier = new OidcVerifier({ issuer: url, audience: AUDIENCE });
    const token = await sign({}, { iss: url });
    await assert.rejects(verifier.verify(token), (e: Error) => {
      assert.ok(hasErrorCode(e, 'UNAVAILABLE'), `${e.name}: ${e.message}`);
      assert.match(e.message, /discovery document .* cannot be read/);
      return true;
    });
  });
});

test('without an issuer configured, a JWT is a 401 that says so', async () => {
  const home = await mkdtemp(join(tmpdir(), 'wharf-oidc-off-'));
  const cp = await startControlPlane({ home, host: '127.0.0.1', port: 0, gatewayPort: 0, log: () => {} });
  try {
    const r = await fetch(`${cp.apiUrl}/api/v1/auth/whoami`, {
      headers: { authorization: `Bearer ${b64({ alg: 'RS256' })}.${b64({ sub: 'x' })}.c2ln` },
    });
    assert.equal(r.status, 401);
    assert.match(((await r.json()) as { error: { message: string } }).error.message, /no OIDC issuer is configured/);
  } finally {
    await cp.stop();
    await rm(home, { recursive: true, force: true });
  }
});

test('wharf up: --oidc-issuer needs --oidc-audience, and an issuer must be an http(s) URL (usage errors, exit 2)', async () => {
  const run = promisify(execFile);
  const home = await mkdtemp(join(tmpdir(), 'wharf-oidc-flags-'));
  try {
    for (const [args, message] of [
      [['--oidc-issuer', 'https://id.example'], /--oidc-issuer and --oidc-audience .* go together/],
      [['--oidc-issuer', 'ftp://id.example', '--oidc-audience', 'w'], /--oidc-issuer: must be an http\(s\) URL/],
    ] as const) {
      await assert.rejects(
        run(
          process.execPath,
          [WHARF_BIN, 'up', '--home', home, '--port', '0', '--gateway-port', '0', '--no-demo', ...args],
          {
            env: { ...process.env, WHARF_OIDC_ISSUER: '', WHARF_OIDC_AUDIENCE: '' },
          },
        ),
        (e: { stderr: string; code: number }) => {
          assert.match(e.stderr, message);
          return e.code === 2;
        },
      );
    }
  } finally {
    await rm(home, { recursive: true, force: true });
  }
});

test("wharf up with WHARF_OIDC_ISSUER and --oidc-audience accepts the issuer's tokens, groups from --oidc-groups-claim", async () => {
  const local = await startIssuer();
  const home = await mkdtemp(join(tmpdir(), 'wharf-oidc-up-'));
  const up = startWharf(
    [
      'up',
      '--home',
      home,
      '--port',
      '0',
      '--gateway-port',
      '0',
      '--no-demo',
      '--oidc-audience',
      AUDIENCE,
      '--oidc-groups-claim',
      'teams',
    ],
    { WHARF_OIDC_ISSUER: local.url, WHARF_OIDC_AUDIENCE: '' },
  );
  try {
    const { api } = await untilWharfUp(up);
    assert.match(up.stderr(), new RegExp(`oidc: accepting bearer JWTs of ${local.url} for ${AUDIENCE}`));
    const token = await new SignJWT({ preferred_username: 'omar', teams: ['risk'] })
      .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
      .setIssuer(local.url)
      .setAudience(AUDIENCE)
      .setSubject('s-9')
      .setExpirationTime('5m')
      .sign(local.key);
    const r = await fetch(`${api}/api/v1/auth/whoami`, { headers: { authorization: `Bearer ${token}` } });
    const body = (await r.json()) as { id: string; groups: string[] };
    assert.equal(r.status, 200, JSON.stringify(body));
    assert.equal(body.id, `oidc:${local.url}#s-9`);
    assert.deepEqual(body.groups, ['risk']);
  } finally {
    up.child.kill('SIGTERM');
    await up.exited;
    local.server.close();
    await rm(home, { recursive: true, force: true });
  }
});
