/**
 * A custom autoscaling metric end to end: a real Prometheus (Debian's) scrapes the control plane's
 * its gateway process; a deployment scales on a PromQL query over the gateway's own route counters
 * (requests that arrived), with real model replicas. CI must run it (see support/prometheus.ts).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { AutoscalerState, DeploymentEvent } from '../src/core/resources.js';
import { type E2eControlPlane, READMISSION_BODY, startE2eControlPlane } from './support/control-plane-e2e.js';
import { freePort } from './support/ports.js';
import { startPrometheus, type TestPrometheus } from './support/prometheus.js';
import { eventually } from './support/eventually.js';

let e2e: E2eControlPlane | undefined;
let prometheus: TestPrometheus | undefined;
let skip: string | undefined;

before(async () => {
  const gatewayPort = await freePort();
  const started = await startPrometheus([`127.0.0.1:${gatewayPort}`], '200ms');
  if ('skip' in started) {
    skip = started.skip;
    return;
  }
  prometheus = started;
  e2e = await startE2eControlPlane(
    'wharf-promql-',
    { '1.0.0': {} },
    { gatewayPort, prometheusUrl: prometheus.url, drainMs: 300 },
  );
});

after(async () => {
  await e2e?.stop();
  await prometheus?.stop();
});

test('a custom PromQL metric over the gateway counters scales the deployment', async (t) => {
  if (skip !== undefined) return t.skip(skip);
  const control = e2e!.cp;
  const query = 'sum(wharf_gateway_route_arrivals_total{deployment="queue"})';
  await control.deployments.create(
    {
      name: 'queue',
      environment: 'staging',
      model: { name: 'risk', version: '1.0.0' },
      configuration: { replicas: 1, scaling: { min: 1, max: 3, metric: 'custom', custom: { query, target: 100 } } },
    },
    { actor: 'alice' },
  );
  await eventually(
    async () => ((await control.deployments.get('queue', 'staging')).status.readyReplicas === 1 ? true : undefined),
    { timeoutMs: 60_000, intervalMs: 100, message: 'one ready replica' },
  );
  for (let i = 0; i < 250; i++) {
    const res = await fetch(`${control.gatewayUrl}/staging/queue/v2/models/queue/infer`, {
      method: 'POST',
      body: READMISSION_BODY,
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(res.status, 200);
    await res.arrayBuffer();
  }
  // 250 arrivals / target 100 per replica → 3 replicas, once Prometheus has scraped them.
  const state = await eventually(
    async () => {
      const s: AutoscalerState | undefined = await control.store.autoscalers
        .get('staging.queue')
        .catch(() => undefined);
      return s?.desiredReplicas === 3 ? s : undefined;
    },
    { timeoutMs: 30_000, intervalMs: 100, message: 'the autoscaler to ask for 3 replicas' },
  );
  assert.equal(state.lastDecision?.metric, 'custom');
  assert.equal(state.problem, undefined);
  const events = (await control.store.events.list({ deployment: 'staging.queue', limit: 500 }))
    .items as DeploymentEvent[];
  assert.ok(
    events.some((e) => e.reason === 'ScaledUp' && /custom metric/.test(e.message)),
    events.map((e) => `${e.reason}: ${e.message}`).join('\n'),
  );
  await eventually(
    async () => ((await control.deployments.get('queue', 'staging')).status.readyReplicas === 3 ? true : undefined),
    { timeoutMs: 60_000, intervalMs: 100, message: '3 ready replicas' },
  );
});
