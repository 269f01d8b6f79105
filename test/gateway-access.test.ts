// Protected endpoints and rate limits in the gateway, against a real node:http upstream that
// echoes what it received: no token → 401 with WWW-Authenticate, a wrong, unknown or expired token
// → 401, another deployment's token → 403, a good one → 200 without its Authorization header
// reaching the replica; a token dropped from the table is refused at once; 429 with Retry-After;
// the per-deployment metrics; health endpoints stay open; a request whose filters run twice (a
// table swap while its body arrives) takes one token from its bucket.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { newTokenString, tokenHash } from '../src/core/identity/token-string.js';
import type { Route, RouteAuth, RouteRateLimit, RouteTable } from '../src/protocol/route-table.js';
import { FakeUpstream, gatewayFixtures, inferBody, rawConnection, route, table, target } from './support/gateway.js';
import { expectError, http, jsonOf, sampleValue, scrape } from './support/serving.js';
import { eventually } from './support/eventually.js';

const { newGateway, stopAfter } = gatewayFixtures();
const ENV = 'production';
const INFER = '/v2/models/readmission/infer';

/** A token string, as the identity code mints them, and its table entry. */
function token(expiresAt: string | null = null) {
  const { id, token: secret } = newTokenString();
  return { secret, entry: { id, hash: tokenHash(secret), expiresAt } };
}
const alice = token();
const bob = token();
const stale = token('2020-01-01T00:00:00Z');

/** An upstream that answers 200 with the headers it received. */
async function echoUpstream(): Promise<FakeUpstream> {
  const upstream = stopAfter(
    new FakeUpstream((req, res) => {
      req.resume();
      req.once('end', () => {
        const body = JSON.stringify({ headers: req.headers });
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
        res.end(body);
      });
    }),
  );
  await upstream.start();
  return upstream;
}

function accessRoute(
  deployment: string,
  upstream: FakeUpstream,
  access: { auth?: RouteAuth; rateLimit?: RouteRateLimit },
): Route {
  return { ...route(ENV, deployment, [target(1, 100, [{ id: `${deployment}-r0`, url: upstream.url }])]), ...access };
}

const infer = (base: string, deployment: string, authorization?: string) =>
  http(`${base}/${ENV}/${deployment}${INFER}`, {
    body: inferBody(),
    headers: authorization === undefined ? {} : { authorization },
  });

describe('protected endpoints', () => {
  async function protectedGateway() {
    const upstream = await echoUpstream();
    const g = await newGateway();
    const routes = (version: number, scoring: RouteAuth): RouteTable =>
      table(version, [
        accessRoute('scoring', upstream, { auth: scoring }),
        accessRoute('triage', upstream, { auth: { tokens: [bob.entry] } }),
        accessRoute('open', upstream, {}),
      ]);
    g.setTable(routes(1, { tokens: [alice.entry, stale.entry] }));
    return { g, upstream, routes };
  }

  test('no token: 401 with WWW-Authenticate: Bearer, and the message says what to send', async () => {
    const { g, upstream } = await protectedGateway();
    const res = await infer(g.url, 'scoring');
    const message = expectError(res, 401);
    assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer\b/);
    assert.match(message, /requires a bearer token/);
    assert.match(message, /infer:production\/scoring/);
    assert.equal(upstream.requests, 0, 'nothing reached the replica');
  });

  test('wrong secret, unknown id, malformed or expired token: 401; never the token in the answer', async () => {
    const { g, upstream } = await protectedGateway();
    for (const [authorization, pattern] of [
      [`Bearer ${alice.secret.slice(0, -1)}${alice.secret.endsWith('A') ? 'B' : 'A'}`, /not valid/],
      [`Bearer ${newTokenString().token}`, /not valid/],
      ['Bearer wharf_nosuch_abcdef', /not a Wharf bearer token/],
      [`Basic ${Buffer.from('admin:admin').toString('base64')}`, /not a Wharf bearer token/],
      [`Bearer ${stale.secret}`, /expired/],
    ] as const) {
      const res = await infer(g.url, 'scoring', authorization);
      assert.match(expectError(res, 401), pattern, authorization);
      assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer .*error="invalid_token"/);
      assert.ok(!res.text.includes(authorization.split(' ')[1]!), 'the credential is not echoed');
    }
    assert.equal(upstream.requests, 0);
  });

  test("another deployment's token: 403 naming the scope it needs", async () => {
    const { g } = await protectedGateway();
    const message = expectError(await infer(g.url, 'scoring', `Bearer ${bob.secret}`), 403);
    assert.match(message, /not scoped to deployment 'scoring'/);
    // And the other way round: alice's token is not valid on triage.
    expectError(await infer(g.url, 'triage', `Bearer ${alice.secret}`), 403);
  });

  test('a good token: 200, and the Authorization header does not reach the replica', async () => {
    const { g, upstream } = await protectedGateway();
    const res = await infer(g.url, 'scoring', `Bearer ${alice.secret}`);
    assert.equal(res.status, 200, res.text);
    const seen = (jsonOf(res) as { headers: Record<string, string> }).headers;
    assert.equal(seen.authorization, undefined, `forwarded headers: ${Object.keys(seen).join(', ')}`);
    assert.equal(upstream.requests, 1);
    // An open route on the same gateway needs nothing.
    assert.equal((await infer(g.url, 'open')).status, 200);
  });

  test('a token dropped from the table (revoked) is refused by the next request after the push', async () => {
    const { g, routes } = await protectedGateway();
    assert.equal((await infer(g.url, 'scoring', `Bearer ${alice.secret}`)).status, 200);
    g.setTable(routes(2, { tokens: [stale.entry] }));
    const started = performance.now();
    expectError(await infer(g.url, 'scoring', `Bearer ${alice.secret}`), 401);
    assert.ok(performance.now() - started < 2_000);
    // An empty list lets nobody in.
    g.setTable(routes(3, { tokens: [] }));
    expectError(await infer(g.url, 'scoring', `Bearer ${alice.secret}`), 401);
  });

  test('a token that expires while listed is refused from its expiry on, with no new table', async () => {
    const upstream = await echoUpstream();
    const g = await newGateway();
    const soon = token(new Date(Date.now() + 600).toISOString());
    g.setTable(table(1, [accessRoute('scoring', upstream, { auth: { tokens: [soon.entry] } })]));
    assert.equal((await infer(g.url, 'scoring', `Bearer ${soon.secret}`)).status, 200);
    await eventually(async () => (await infer(g.url, 'scoring', `Bearer ${soon.secret}`)).status === 401, {
      timeoutMs: 3_000,
      message: 'the token is refused once expired',
    });
  });

  test('health endpoints stay open; denials are counted per deployment and reason', async () => {
    const { g } = await protectedGateway();
    assert.equal((await http(`${g.url}/healthz`)).status, 200);
    assert.equal((await http(`${g.url}/readyz`)).status, 200);
    await infer(g.url, 'scoring');
    await infer(g.url, 'scoring');
    await infer(g.url, 'scoring', `Bearer ${stale.secret}`);
    await infer(g.url, 'scoring', `Bearer ${bob.secret}`);
    const text = await scrape(g.url);
    const denied = (reason: string, deployment = 'scoring') =>
      sampleValue(text, 'wharf_gateway_auth_denied_total', { environment: ENV, deployment, reason });
    assert.equal(denied('missing'), 2);
    assert.equal(denied('expired'), 1);
    assert.equal(denied('forbidden'), 1);
    assert.equal(denied('invalid'), 0, 'protected routes export zeros too');
    assert.equal(denied('missing', 'triage'), 0);
    assert.equal(denied('missing', 'open'), undefined, 'open routes have no auth series');
    // Refused requests reached no revision: they count as revision "", not as the replica's 4xx.
    const requests = (revision: string, code: string) =>
      sampleValue(text, 'wharf_gateway_requests_total', { environment: ENV, deployment: 'scoring', revision, code });
    assert.equal(requests('', '401'), 3);
    assert.equal(requests('1', '401'), undefined);
    // The protocol's health paths of a protected deployment too; its metadata and inference are not.
    assert.equal((await http(`${g.url}/${ENV}/scoring/v2/health/ready`)).status, 200);
    assert.equal((await http(`${g.url}/${ENV}/scoring/v2/health/live?x=1`, { method: 'HEAD' })).status, 200);
    expectError(await http(`${g.url}/${ENV}/scoring/v2/models/readmission`), 401);
    expectError(await http(`${g.url}/${ENV}/scoring/v2/health/ready`, { method: 'POST', body: '{}' }), 401);
  });
});

describe('rate limits', () => {
  test('past the burst: 429 with Retry-After in whole seconds; counted per deployment', async () => {
    const upstream = await echoUpstream();
    const g = await newGateway();
    g.setTable(
      table(1, [accessRoute('scoring', upstream, { rateLimit: { requestsPerSecond: 0.5, burst: 3, per: 'client' } })]),
    );
    const statuses: number[] = [];
    let refused: Awaited<ReturnType<typeof infer>> | undefined;
    for (let i = 0; i < 5; i++) {
      const res = await infer(g.url, 'scoring');
      statuses.push(res.status);
      if (res.status === 429) refused = res;
    }
    assert.deepEqual(statuses, [200, 200, 200, 429, 429]);
    assert.match(expectError(refused!, 429), /rate limit .* 0\.5 requests\/s with bursts of 3/);
    const retryAfter = Number(refused!.headers.get('retry-after'));
    // One token every 2 s: at most 2 s to wait, rounded up to a whole second.
    assert.ok(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 2, `Retry-After ${retryAfter}`);
    assert.equal(upstream.requests, 3);
    const text = await scrape(g.url);
    assert.equal(sampleValue(text, 'wharf_gateway_rate_limited_total', { environment: ENV, deployment: 'scoring' }), 2);
  });

  test('per token: each token has its own bucket; requests without one share their address', async () => {
    const upstream = await echoUpstream();
    const g = await newGateway();
    g.setTable(
      table(1, [
        accessRoute('scoring', upstream, {
          auth: { tokens: [alice.entry, bob.entry] },
          rateLimit: { requestsPerSecond: 0.1, burst: 2, per: 'token' },
        }),
        accessRoute('open', upstream, { rateLimit: { requestsPerSecond: 0.1, burst: 2, per: 'token' } }),
      ]),
    );
    const run = async (deployment: string, authorization?: string) => {
      const out: number[] = [];
      for (let i = 0; i < 3; i++) out.push((await infer(g.url, deployment, authorization)).status);
      return out;
    };
    assert.deepEqual(await run('scoring', `Bearer ${alice.secret}`), [200, 200, 429]);
    assert.deepEqual(await run('scoring', `Bearer ${bob.secret}`), [200, 200, 429], "bob's bucket is his own");
    // Refused by the token check before the limit: an invalid token takes nothing from any bucket.
    expectError(await infer(g.url, 'scoring', `Bearer ${newTokenString().token}`), 401);
    // Without a verified token, the address is the key: unverified tokens do not get buckets of their own.
    assert.deepEqual(await run('open', `Bearer ${newTokenString().token}`), [200, 200, 429]);
    assert.deepEqual(await run('open', `Bearer ${newTokenString().token}`), [429, 429, 429]);
  });

  test('buckets survive a table swap that keeps the limit; a new limit starts afresh', async () => {
    const upstream = await echoUpstream();
    const g = await newGateway();
    const limited = (version: number, burst: number) =>
      table(version, [
        accessRoute('scoring', upstream, { rateLimit: { requestsPerSecond: 0.1, burst, per: 'client' } }),
      ]);
    g.setTable(limited(1, 1));
    assert.equal((await infer(g.url, 'scoring')).status, 200);
    g.setTable(limited(2, 1));
    expectError(await infer(g.url, 'scoring'), 429);
    g.setTable(limited(3, 2));
    assert.equal((await infer(g.url, 'scoring')).status, 200);
  });

  test('a request whose filters run again after a swap (body still arriving) takes one token only', async () => {
    const upstream = await echoUpstream();
    const g = await newGateway();
    const limited = (version: number) =>
      table(version, [
        accessRoute('scoring', upstream, {
          auth: { tokens: [alice.entry] },
          rateLimit: { requestsPerSecond: 0.01, burst: 2, per: 'token' },
        }),
      ]);
    g.setTable(limited(1));
    const body = inferBody();
    const conn = await rawConnection(g.url);
    conn.write(
      `POST /${ENV}/scoring${INFER} HTTP/1.1\r\nHost: t\r\nConnection: close\r\nAuthorization: Bearer ${alice.secret}\r\n` +
        `Content-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body.slice(0, 10)}`,
    );
    // The gateway has routed the request (its filters ran) once it counts an arrival.
    await eventually(() => (g.snapshot().routes ?? []).some((r) => r.arrivals === 1), { timeoutMs: 2_000 });
    g.setTable(limited(2));
    conn.write(body.slice(10));
    const first = await conn.response;
    assert.equal(first.status, 200, first.response);
    // Burst 2: if the rerun had taken a token too, this one would be refused.
    assert.equal((await infer(g.url, 'scoring', `Bearer ${alice.secret}`)).status, 200);
    expectError(await infer(g.url, 'scoring', `Bearer ${alice.secret}`), 429);
  });
});
