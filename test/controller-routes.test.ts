import assert from 'node:assert/strict';
import { test } from 'node:test';
import { desiredWorkload } from '../src/workloads/onnx-model/onnx-workload.js';
import { compileRoutes, servingWorkload } from '../src/controller/reconcilers/route-compiler.js';
import { withDeletionRequested } from '../src/core/deployment-identity.js';
import { specFromInput } from '../src/core/deployment-spec.js';
import { WORKLOAD_SPEC_KINDS } from '../src/workloads/workload-kind.js';
import type { Deployment } from '../src/core/resources.js';
import type { ReplicaStatus, WorkloadStatus } from '../src/runtime/runtime.js';

function workload(
  deployment: string,
  revision: number,
  phases: ReplicaStatus['phase'][],
  environment = 'staging',
): WorkloadStatus {
  const replicas = phases.map((phase, i) => ({
    id: `r${revision}-${i}`,
    endpoint: `http://127.0.0.1:${9000 + revision * 10 + i}`,
    phase,
    restarts: 0,
  }));
  return {
    key: { environment, deployment, revision },
    desiredReplicas: phases.length,
    readyReplicas: phases.filter((p) => p === 'ready').length,
    replicas,
    conditions: [],
  };
}

const served = (d: Pick<Deployment, 'revision'>, ws: WorkloadStatus[]): number | undefined =>
  servingWorkload(d, ws)?.key.revision;

test('servingWorkload: the new revision once complete, else the newest older one with ready replicas', () => {
  const table: [string, number, WorkloadStatus[], number | undefined][] = [
    ['nothing runs', 1, [], undefined],
    ['first deploy, none ready', 1, [workload('a', 1, ['starting', 'starting'])], undefined],
    ['first deploy, one ready', 1, [workload('a', 1, ['ready', 'starting'])], 1],
    [
      'replacement: new partly ready, old ready',
      2,
      [workload('a', 1, ['ready', 'ready']), workload('a', 2, ['ready', 'starting'])],
      1,
    ],
    ['replacement: new complete', 2, [workload('a', 1, ['ready', 'ready']), workload('a', 2, ['ready', 'ready'])], 2],
    [
      'replacement: old crashed, new partly ready',
      2,
      [workload('a', 1, ['crashed']), workload('a', 2, ['ready', 'starting'])],
      2,
    ],
    [
      'two old revisions: the newest ready one',
      3,
      [workload('a', 1, ['ready']), workload('a', 2, ['ready']), workload('a', 3, ['starting'])],
      2,
    ],
  ];
  for (const [name, revision, ws, expected] of table) assert.equal(served({ revision }, ws), expected, name);
});

function deployment(name: string, environment: string, revision: number): Deployment {
  const spec = specFromInput(
    { name, environment, model: { name: 'readmission', version: '1.4.0' } },
    WORKLOAD_SPEC_KINDS,
  );
  return {
    id: `${environment}.${name}`,
    name,
    environment,
    ...spec,
    revision,
    resourceVersion: 1,
    status: { phase: 'running', conditions: [], readyReplicas: 1, observedRevision: revision },
    endpoints: {},
    metadata: { created: 't', updated: 't', deployedBy: 'a', project: 'p', labels: {} },
  };
}

test('compileRoutes: one sorted route per deployment; ready backends only; deleted deployments dropped', () => {
  const deployments = [
    deployment('b', 'staging', 2),
    deployment('a', 'staging', 1),
    deployment('z', 'dev', 1),
    withDeletionRequested(deployment('gone', 'staging', 1), 't'),
  ];
  const workloads = [
    workload('b', 1, ['ready', 'unready']),
    workload('b', 2, ['starting', 'starting']),
    workload('a', 1, ['ready', 'stopping']),
    workload('gone', 1, ['ready']),
    workload('a', 1, ['ready'], 'production'), // another environment's deployment of the same name: not ours
  ];
  const versions: Record<string, string> = { 'staging.b@1': '1.3.0', 'staging.b@2': '1.4.0', 'staging.a@1': '1.4.0' };
  const routes = compileRoutes(deployments, workloads, (id, n) =>
    versions[`${id}@${n}`] === undefined ? undefined : { name: 'readmission', version: versions[`${id}@${n}`]! },
  );
  assert.deepEqual(routes, [
    { environment: 'dev', deployment: 'z', targets: [] },
    {
      environment: 'staging',
      deployment: 'a',
      targets: [
        {
          revision: 1,
          weight: 100,
          model: { name: 'a', version: '1.4.0' },
          backends: [{ id: 'staging/a@1#r1-0', url: 'http://127.0.0.1:9010' }],
        },
      ],
    },
    {
      environment: 'staging',
      deployment: 'b',
      targets: [
        {
          revision: 1,
          weight: 100,
          model: { name: 'b', version: '1.3.0' },
          backends: [{ id: 'staging/b@1#r1-0', url: 'http://127.0.0.1:9010' }],
        },
      ],
    },
  ]);
});

test('desiredWorkload: the same revision always yields the same workload', () => {
  const spec = specFromInput(
    {
      name: 'a',
      environment: 'staging',
      model: { name: 'readmission', version: '1.4.0' },
      configuration: { replicas: 3, healthCheck: { interval: 0.5, timeout: 0.25 } },
    },
    WORKLOAD_SPEC_KINDS,
  );
  const source = {
    environment: 'staging',
    name: 'a',
    revision: 7,
    spec,
    modelVersion: {
      version: '1.4.0',
      artifact: { digest: `sha256:${'ab'.repeat(32)}` as const, size: 1, filename: 'm.onnx' },
    },
    artifactPath: '/blobs/ab',
  };
  const w = desiredWorkload(source);
  assert.deepEqual(w, desiredWorkload(structuredClone(source)));
  assert.deepEqual(w.key, { environment: 'staging', deployment: 'a', revision: 7 });
  assert.equal(w.replicas, 3);
  assert.deepEqual(w.model, {
    name: 'a',
    version: '1.4.0',
    artifactPath: '/blobs/ab',
    digest: `sha256:${'ab'.repeat(32)}`,
  });
  assert.deepEqual(w.readiness, {
    path: '/v2/health/ready',
    intervalMs: 500,
    timeoutMs: 250,
    retries: 3,
    startupGraceMs: 60_000,
  });
  assert.deepEqual(w.liveness, { ...w.readiness, path: '/v2/health/live' });
  assert.deepEqual(w.resources, { cpu: '500m', memory: '512Mi', gpu: 0 });
});
