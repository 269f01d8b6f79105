// The route compiler for applications and workers: an application's route says what it fronts and
// mirrors only the methods its strategy marks safe (GET/HEAD by default); a worker never has a
// route; what an application revision runs names its targets.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileRoutes } from '../src/controller/reconcilers/route-compiler.js';
import { revisionRuns } from '../src/controller/reconcilers/route-publisher.js';
import { specFromInput } from '../src/core/deployment-spec.js';
import type { Deployment, DeploymentSpec } from '../src/core/resources.js';
import type { TrafficSplit } from '../src/core/rollout/rollout-types.js';
import type { WorkloadStatus } from '../src/runtime/runtime.js';
import { WORKLOAD_SPEC_KINDS } from '../src/workloads/workload-kind.js';

/** A deployment of `type` (built from a model spec: the application kind's own rules are not under test here). */
function deployment(name: string, type: DeploymentSpec['type'], extra: Partial<Deployment> = {}): Deployment {
  const spec = specFromInput(
    { name, environment: 'production', model: { name: 'readmission', version: '1.4.0' } },
    WORKLOAD_SPEC_KINDS,
  );
  const { model: _model, ...rest } = spec;
  return {
    id: `production.${name}`,
    name,
    environment: 'production',
    ...(type === 'model' ? spec : rest),
    type,
    revision: 1,
    resourceVersion: 1,
    status: { phase: 'running', conditions: [], readyReplicas: 1, observedRevision: 1 },
    endpoints: {},
    metadata: { created: 't', updated: 't', deployedBy: 'a', project: 'p', labels: {} },
    ...extra,
  };
}

function ready(deploymentName: string, revision: number): WorkloadStatus {
  return {
    key: { environment: 'production', deployment: deploymentName, revision },
    desiredReplicas: 1,
    readyReplicas: 1,
    replicas: [{ id: 'r0', endpoint: `http://127.0.0.1:${9100 + revision}`, phase: 'ready', restarts: 0 }],
    conditions: [],
  };
}

const runs = () => ({ name: 'api-code', version: '1.2.0' });

test('an application route says kind and protocol; a worker gets no route at all', () => {
  const api = deployment('api', 'application');
  const oip = deployment('scorer', 'application');
  oip.configuration.protocol = 'oip';
  const routes = compileRoutes(
    [api, oip, deployment('extractor', 'worker')],
    [ready('api', 1), ready('scorer', 1), ready('extractor', 1)],
    runs,
  );
  assert.deepEqual(
    routes.map((r) => [r.deployment, r.kind, r.protocol, r.targets.length]),
    [
      ['api', 'application', 'http', 1],
      ['scorer', 'application', 'oip', 1],
    ],
  );
  assert.deepEqual(routes[0]!.targets[0]!.model, { name: 'api', version: '1.2.0' });
});

test('mirror methods: GET/HEAD for applications by default, the strategy’s when set; models keep theirs', () => {
  const split: TrafficSplit = {
    targets: [
      { revision: 1, weight: 100 },
      { revision: 2, weight: 0 },
    ],
    mirror: { revision: 2, percent: 100 },
  };
  const rollout = { traffic: split } as NonNullable<Deployment['status']['rollout']>;
  const status: Deployment['status'] = {
    phase: 'running',
    conditions: [],
    readyReplicas: 2,
    observedRevision: 2,
    rollout,
  };
  const app = deployment('api', 'application', { revision: 2, status: { ...status, conditions: [] } });
  const post = deployment('orders', 'application', { revision: 2, status: { ...status, conditions: [] } });
  post.strategy = { ...post.strategy, shadow: { methods: ['get', 'POST'] } };
  const model = deployment('m', 'model', { revision: 2, status: { ...status, conditions: [] } });
  const workloads = ['api', 'orders', 'm'].flatMap((d) => [ready(d, 1), ready(d, 2)]);
  const routes = compileRoutes([app, post, model], workloads, runs);
  const methods = Object.fromEntries(routes.map((r) => [r.deployment, r.mirror?.methods]));
  assert.deepEqual(methods, { api: ['GET', 'HEAD'], orders: ['GET', 'POST'], m: undefined });
});

test('revisionRuns: a model’s model, an application’s bundle or image, nothing for a worker', () => {
  const base = deployment('x', 'application');
  assert.deepEqual(revisionRuns({ ...base, bundle: { name: 'code', version: '2.0.0' } }, 3), {
    name: 'code',
    version: '2.0.0',
  });
  assert.deepEqual(revisionRuns({ ...base, configuration: { ...base.configuration, image: 'api:1' } }, 3), {
    name: 'application',
    version: 'api:1',
  });
  assert.deepEqual(revisionRuns(base, 3), { name: 'application', version: 'revision-3' });
  assert.equal(revisionRuns({ ...base, type: 'worker' }, 3), undefined);
  assert.deepEqual(revisionRuns(deployment('m', 'model'), 1), { name: 'readmission', version: '1.4.0' });
});
