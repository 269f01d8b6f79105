/**
 * Protected and rate-limited deployments in the route table: which API tokens the route compiler
 * lists on a protected route (not revoked, not expired, scoped to the deployment or its
 * environment), and the route publisher over a real SQLite store following token changes, so that
 * a revoked token is refused by a gateway that follows the publisher within 2 s, with no poll.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { allowedTokens, compileRoutes } from '../src/controller/reconcilers/route-compiler.js';
import { createDeploymentController } from '../src/controller/deployment-controller.js';
import { RoutePublisher } from '../src/controller/reconcilers/route-publisher.js';
import { specFromInput } from '../src/core/deployment-spec.js';
import { newTokenString, tokenHash } from '../src/core/identity/token-string.js';
import type { ApiToken, Deployment } from '../src/core/resources.js';
import { GatewayServer } from '../src/gateway/gateway-server.js';
import { DeploymentService } from '../src/services/deployment-service.js';
import { WORKLOAD_SPEC_KINDS } from '../src/workloads/workload-kind.js';
import { seededStore } from './support/deployment-fixtures.js';
import { eventually } from './support/eventually.js';
import { FakeRuntime } from './support/fake-runtime.js';
import { http } from './support/serving.js';

const NOW = Date.parse('2026-12-02T12:00:00Z');

/** Tokens minted in this file, by the name the tests give them: their strings, as the identity code makes them. */
const minted = new Map<string, { id: string; token: string }>();

function apiToken(name: string, scopes: string[], extra: Partial<ApiToken> = {}): ApiToken {
  const made = newTokenString();
  minted.set(name, made);
  return {
    id: made.id,
    name,
    owner: 'user:alice',
    ownerName: 'alice',
    hash: tokenHash(made.token),
    scopes,
    createdAt: '2026-12-01T00:00:00Z',
    expiresAt: null,
    revokedAt: null,
    lastUsedAt: null,
    resourceVersion: 1,
    ...extra,
  };
}

function deployment(name: string, configuration: Record<string, unknown>): Deployment {
  const spec = specFromInput(
    { name, environment: 'production', model: { name: 'readmission', version: '1.4.0' }, configuration },
    WORKLOAD_SPEC_KINDS,
  );
  return {
    id: `production.${name}`,
    name,
    environment: 'production',
    ...spec,
    revision: 1,
    resourceVersion: 1,
    status: { phase: 'running', conditions: [], readyReplicas: 0, observedRevision: 1 },
    endpoints: {},
    metadata: { created: 't', updated: 't', deployedBy: 'alice', project: 'default', labels: {} },
  };
}

test('allowedTokens: not revoked, not expired, scoped to the environment or the deployment; sorted by id', () => {
  const tokens = [
    apiToken('zenv', ['infer:production']),
    apiToken('adep', ['deployments:read', 'infer:production/scoring']),
    apiToken('other', ['infer:production/triage']),
    apiToken('staging', ['infer:staging', 'infer:staging/scoring']),
    apiToken('star', ['*']),
    apiToken('revoked', ['infer:production'], { revokedAt: '2026-12-02T11:00:00Z' }),
    apiToken('expired', ['infer:production'], { expiresAt: '2026-12-02T11:59:59Z' }),
    apiToken('later', ['infer:production'], { expiresAt: '2026-12-03T00:00:00Z' }),
    apiToken('prefix', ['infer:production/scoring-v2', 'infer:prod']),
  ];
  const allowed = allowedTokens('production', 'scoring', { tokens, now: NOW });
  const names = new Map(tokens.map((t) => [t.id, t.name]));
  assert.deepEqual(allowed.map((t) => names.get(t.id)).sort(), ['adep', 'later', 'zenv']);
  assert.deepEqual(
    allowed.map((t) => t.id),
    allowed.map((t) => t.id).sort(),
    'sorted by id',
  );
  assert.deepEqual(Object.keys(allowed[0]!).sort(), ['expiresAt', 'hash', 'id'], 'id, hash and expiry only');
  assert.equal(allowed.find((t) => names.get(t.id) === 'later')!.expiresAt, '2026-12-03T00:00:00Z');
});

test('compileRoutes: auth and the resolved rate limit on the routes of deployments that ask for them', () => {
  const tokens = { tokens: [apiToken('t1', ['infer:production'])], now: NOW };
  const routes = compileRoutes(
    [
      deployment('open', {}),
      deployment('scoring', { auth: { required: true }, rateLimit: { requestsPerSecond: 2.5 } }),
      deployment('unprotected', {
        auth: { required: false },
        rateLimit: { requestsPerSecond: 10, burst: 3, per: 'client' },
      }),
    ],
    [],
    () => undefined,
    tokens,
  );
  assert.deepEqual(
    routes.map((r) => [r.deployment, r.auth?.tokens.map((t) => t.id), r.rateLimit]),
    [
      ['open', undefined, undefined],
      ['scoring', [minted.get('t1')!.id], { requestsPerSecond: 2.5, burst: 3, per: 'token' }],
      ['unprotected', undefined, { requestsPerSecond: 10, burst: 3, per: 'client' }],
    ],
  );
  assert.ok(!('auth' in routes[0]!) && !('rateLimit' in routes[0]!), 'an open route has neither field');
});

test('the publisher follows token changes: a revoked token is refused by a following gateway within 2 s', async (t) => {
  const ts = await seededStore();
  const runtime = new FakeRuntime({ readyAfterMs: 20 });
  const controller = createDeploymentController({
    store: ts.store,
    runtime,
    artifactPath: (digest) => `/blobs/${digest.slice('sha256:'.length)}`,
    pollIntervalMs: 20,
    failedPollIntervalMs: 40,
    resyncIntervalMs: 1_000,
    queue: { baseDelayMs: 10, maxDelayMs: 100 },
  });
  await controller.start();
  // A long poll: only the store's change feed can make the token's revocation show within 2 s.
  const publisher = new RoutePublisher({ store: ts.store, runtime, refreshIntervalMs: 60_000 });
  await publisher.start();
  const gateway = new GatewayServer({ port: 0, shutdownGraceMs: 100 });
  await gateway.start();
  gateway.setTable(publisher.current());
  publisher.subscribe((table) => gateway.setTable(table));
  t.after(async () => {
    await gateway.stop();
    await publisher.stop();
    await controller.stop();
    await ts.cleanup();
  });

  const service = new DeploymentService(ts.store);
  await service.create(
    {
      name: 'scoring',
      environment: 'production',
      model: { name: 'readmission', version: '1.4.0' },
      configuration: { auth: { required: true } },
    },
    { actor: 'alice' },
  );
  const token = apiToken('tok1', ['infer:production/scoring']);
  const secret = minted.get('tok1')!.token;
  const { resourceVersion: _, ...fresh } = token;
  const stored = await ts.store.tokens.create(fresh);
  const url = `${gateway.url}/production/scoring/v2/models/scoring/infer`;
  const call = async () => (await http(url, { body: '{}', headers: { authorization: `Bearer ${secret}` } })).status;
  // Let in: past the token check, to a fake replica that does not listen (502) or none yet (503).
  await eventually(async () => ![401, 404].includes(await call()), {
    timeoutMs: 5_000,
    message: 'the token is let in',
  });

  await ts.store.tokens.update({ ...stored, revokedAt: new Date().toISOString() });
  const revokedAt = performance.now();
  await eventually(async () => (await call()) === 401, { timeoutMs: 2_000, message: 'the revoked token is refused' });
  assert.ok(performance.now() - revokedAt < 2_000);
  assert.deepEqual(
    publisher.current().routes.find((r) => r.deployment === 'scoring')?.auth,
    { tokens: [] },
    'the route lists no token',
  );
});
