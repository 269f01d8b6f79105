/**
 * Protected endpoints and rate limits end to end, over a real control plane (SQLite, the local
 * runtime with a real model replica, and its gateway as a process of its own that follows the
 * API's route-table watch stream): tokens are minted by the identity code; the gateway refuses a
 * call without one (401, WWW-Authenticate), with another deployment's (403), a wrong-scoped or
 * expired one (401), answers a good one (200), refuses a token within 2 s of its revocation, and
 * limits a deployment's callers (429 with Retry-After). Bad access settings are 400s naming the
 * field, and change nothing.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type E2eControlPlane, READMISSION_BODY, startE2eControlPlane } from './support/control-plane-e2e.js';
import { eventually } from './support/eventually.js';
import { sampleValue, scrape } from './support/serving.js';

let e2e: E2eControlPlane;
const ENV = 'staging';
const path = (name: string) => `/api/v1/environments/${ENV}/deployments/${name}`;

before(async () => {
  e2e = await startE2eControlPlane('wharf-protected-', { '1.0.0': {} });
});
after(() => e2e?.stop());

/** A token of alice's with `scopes`, valid for `ms`. */
async function mint(scopes: string[], ms = 3_600_000) {
  return e2e.cp.tokens.mint({
    owner: 'user:alice',
    ownerName: 'alice',
    name: `e2e ${scopes.join(' ')}`,
    scopes,
    expiresAt: new Date(Date.now() + ms),
  });
}

const call = (name: string, token?: string) =>
  fetch(`${e2e.cp.gatewayUrl}/${ENV}/${name}/v2/models/${name}/infer`, {
    method: 'POST',
    body: READMISSION_BODY,
    headers: {
      'content-type': 'application/json',
      ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
    },
  });

async function create(name: string, configuration: Record<string, unknown>) {
  const created = await e2e.api('/api/v1/deployments', {
    method: 'POST',
    json: { environment: ENV, name, model: { name: 'risk', version: '1.0.0' }, configuration },
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  await e2e.settled(ENV, name, (d) => d.status.readyReplicas === 1, `${name} ready`);
}

test('bad access settings are 400s naming the field and the rule', async () => {
  for (const [configuration, field] of [
    [{ auth: { required: 'yes' } }, /configuration\.auth\.required/],
    [{ auth: { required: true, scopes: [] } }, /configuration\.auth/],
    [{ rateLimit: { requestsPerSecond: 0 } }, /configuration\.rateLimit\.requestsPerSecond: must be a number above 0/],
    [{ rateLimit: { requestsPerSecond: 5, per: 'ip' } }, /configuration\.rateLimit\.per/],
  ] as const) {
    const res = await e2e.api('/api/v1/deployments', {
      method: 'POST',
      json: { environment: ENV, name: 'refused', model: { name: 'risk', version: '1.0.0' }, configuration },
    });
    assert.equal(res.status, 400, `${JSON.stringify(configuration)} → ${JSON.stringify(res.body)}`);
    assert.match(JSON.stringify(res.body), field);
  }
  assert.equal((await e2e.api(path('refused'))).status, 404, 'nothing was created');
});

test('a protected deployment: 401 without a token, 403 with another deployment’s, 200 with its own; revoked within 2 s', async () => {
  await create('scoring', { replicas: 1, auth: { required: true } });
  // Another protected deployment (no replica needed): its tokens are known to the gateway, but not here.
  const triage = await e2e.api('/api/v1/deployments', {
    method: 'POST',
    json: {
      environment: ENV,
      name: 'triage',
      model: { name: 'risk', version: '1.0.0' },
      configuration: { replicas: 0, auth: { required: true } },
    },
  });
  assert.equal(triage.status, 201, JSON.stringify(triage.body));
  const own = await mint(['infer:staging/scoring']);
  const environmentWide = await mint(['infer:staging']);
  const elsewhere = await mint(['infer:staging/triage']);
  const apiOnly = await mint(['deployments:read']);
  const expiring = await mint(['infer:staging'], 2_500);

  // The table reaches the gateway process over the watch stream: wait for the token to be let in.
  await eventually(async () => (await call('scoring', own.token)).status === 200, {
    timeoutMs: 10_000,
    message: 'the deployment answers its own token',
  });
  const open = await call('scoring');
  assert.equal(open.status, 401);
  assert.match(open.headers.get('www-authenticate') ?? '', /^Bearer/);
  assert.match(((await open.json()) as { error: string }).error, /requires a bearer token/);
  assert.equal((await call('scoring', environmentWide.token)).status, 200, 'a token of the whole environment');
  await eventually(async () => (await call('scoring', elsewhere.token)).status === 403, {
    timeoutMs: 5_000,
    message: "another protected deployment's token is refused with 403",
  });
  assert.equal((await call('scoring', apiOnly.token)).status, 401, 'a token without an infer scope');
  assert.equal((await call('scoring', e2e.adminToken)).status, 401, 'the admin token has no infer scope');
  await eventually(async () => (await call('scoring', expiring.token)).status === 401, {
    timeoutMs: 6_000,
    message: 'an expired token is refused',
  });

  await e2e.cp.tokens.revoke(own.record.id);
  const revokedAt = Date.now();
  await eventually(async () => (await call('scoring', own.token)).status === 401, {
    timeoutMs: 2_000,
    intervalMs: 20,
    message: 'the revoked token is refused by the gateway process within 2 s',
  });
  assert.ok(Date.now() - revokedAt <= 2_000);
  assert.equal((await call('scoring', environmentWide.token)).status, 200, 'other tokens still work');

  const metrics = await scrape(e2e.cp.gatewayUrl);
  const denied = (reason: string) =>
    sampleValue(metrics, 'wharf_gateway_auth_denied_total', { environment: ENV, deployment: 'scoring', reason });
  assert.ok((denied('missing') ?? 0) >= 1);
  assert.ok((denied('forbidden') ?? 0) >= 1);
  assert.ok((denied('expired') ?? 0) >= 1);

  // Opened again with null: calls need no token.
  const opened = await e2e.api(path('scoring'), { method: 'PATCH', json: { configuration: { auth: null } } });
  assert.equal(opened.status, 200, JSON.stringify(opened.body));
  await eventually(async () => (await call('scoring')).status === 200, { timeoutMs: 10_000, message: 'open again' });
});

test('a rate-limited deployment answers 429 with Retry-After past its burst', async () => {
  await create('limited', { replicas: 1, rateLimit: { requestsPerSecond: 0.2, burst: 2, per: 'client' } });
  const statuses: number[] = [];
  let refused: Response | undefined;
  await eventually(
    async () => {
      const res = await call('limited');
      statuses.push(res.status);
      if (res.status === 429) refused = res;
      else await res.arrayBuffer();
      return refused;
    },
    { timeoutMs: 10_000, message: () => `a 429 among ${statuses.join(', ')}` },
  );
  assert.ok(statuses.filter((s) => s === 200).length <= 2, `at most the burst got through: ${statuses.join(', ')}`);
  const retryAfter = Number(refused!.headers.get('retry-after'));
  assert.ok(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 5, `Retry-After ${retryAfter}`);
  assert.match(((await refused!.json()) as { error: string }).error, /rate limit/);
  const metrics = await scrape(e2e.cp.gatewayUrl);
  assert.ok(
    (sampleValue(metrics, 'wharf_gateway_rate_limited_total', { environment: ENV, deployment: 'limited' }) ?? 0) >= 1,
  );
});
