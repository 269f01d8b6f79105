/**
 * The PostgreSQL store out of reach (issue 17, item 2), on a control plane whose database URL
 * points at a proxy the test cuts: the API answers reads and writes with 503 and `Retry-After`
 * instead of hanging (the figure is the slowest answer; its 100 ms goal is the bench's), the data plane serves every
 * inference meanwhile, and once the database is back the controllers act on a change without a
 * restart (a scale to 2 brings a second ready replica).
 */
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { after, before, test } from 'node:test';
import { type E2eControlPlane, startE2eControlPlane } from './support/control-plane-e2e.js';
import { eventually } from './support/eventually.js';
import { figure, ServingLoad } from './support/faults.js';
import { createTestDatabase, type TestDatabase } from './support/postgres.js';
import { type CuttableProxy, cuttableProxy } from './support/tcp-proxy.js';

let e2e: E2eControlPlane | undefined;
let db: TestDatabase | undefined;
let proxy: CuttableProxy | undefined;
let skip: string | undefined;

before(
  async () => {
    const made = await createTestDatabase();
    if ('skip' in made) {
      skip = made.skip;
      return;
    }
    db = made;
    const url = new URL(db.url);
    proxy = await cuttableProxy({ host: url.hostname, port: Number(url.port || 5432) });
    url.hostname = '127.0.0.1';
    url.port = String(proxy.port);
    e2e = await startE2eControlPlane('wharf-db-down-', { '1.0.0': {} }, { databaseUrl: url.toString() });
  },
  { timeout: 120_000 },
);
after(async () => {
  await proxy?.restore();
  await e2e?.stop();
  await proxy?.cut();
  await db?.drop();
});

test(
  'database down: 503 with Retry-After at once, the data plane unaffected, controllers resume by themselves',
  { timeout: 180_000 },
  async (t) => {
    if (skip !== undefined) return t.skip(skip);
    const cp = e2e!;
    const created = await cp.api('/api/v1/deployments', {
      method: 'POST',
      json: {
        name: 'risk',
        environment: 'staging',
        model: { name: 'risk', version: '1.0.0' },
        configuration: { replicas: 1 },
      },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    await cp.settled('staging', 'risk', (d) => d.status.readyReplicas === 1, 'one ready replica');
    await eventually(async () => ((await cp.infer('staging', 'risk')).status === 200 ? true : undefined), {
      timeoutMs: 30_000,
      intervalMs: 100,
      message: 'the gateway to serve risk',
    });
    const load = new ServingLoad(async () => {
      const r = await cp.infer('staging', 'risk').catch(() => undefined);
      await r?.arrayBuffer();
      return r?.status ?? 0;
    }, 2);

    await proxy!.cut();
    let slowest = 0;
    const calls: [string, RequestInit][] = [
      ['/api/v1/deployments?environment=staging', {}],
      ['/api/v1/environments/staging/deployments/risk', {}],
      [
        '/api/v1/environments/staging/deployments/risk/scale',
        { method: 'POST', body: JSON.stringify({ replicas: 2 }) },
      ],
    ];
    for (let round = 0; round < 5; round += 1) {
      for (const [path, init] of calls) {
        const started = performance.now();
        const r = await fetch(`${cp.cp.apiUrl}${path}`, {
          ...init,
          headers: { authorization: `Bearer ${cp.aliceToken}`, 'content-type': 'application/json' },
          signal: AbortSignal.timeout(30_000),
        });
        await r.arrayBuffer();
        slowest = Math.max(slowest, performance.now() - started);
        assert.equal(r.status, 503, `${path} while the database is down`);
        assert.ok(Number(r.headers.get('retry-after')) > 0, 'Retry-After');
      }
    }
    figure('database down: slowest 503 of the API', slowest, 'ms', '< 100 ms');

    await proxy!.restore();
    const back = performance.now();
    const scaled = await eventually(
      async () => {
        const r = await cp.api('/api/v1/environments/staging/deployments/risk/scale', {
          method: 'POST',
          json: { replicas: 2 },
        });
        return r.status === 200 ? r : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 100, message: 'the API to accept a write once the database is back' },
    );
    assert.equal(scaled.status, 200);
    await cp.settled(
      'staging',
      'risk',
      (d) => d.status.readyReplicas === 2,
      'the controller to bring a second replica',
      60_000,
    );
    figure(
      'database back: scale to 2 replicas ready after',
      (performance.now() - back) / 1000,
      's',
      '< 30 s, no restart',
    );
    await load.stop();
    figure('database down: inferences failed', load.failed, `of ${load.ok + load.failed}`, '0');
    assert.equal(load.failed, 0, `failed: ${load.failures.join(', ')}`);
    // The 100 ms goal is the bench's (`npm run bench:faults`); here: an answer, not a hang (pg's
    // connect timeout is 10 s, which is what a hang would show).
    assert.ok(slowest < 2_000, `the slowest 503 took ${slowest} ms`);
  },
);
