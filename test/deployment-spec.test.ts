import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  deletionRequestedAt,
  deploymentId,
  isRollbackRevision,
  parseDeploymentId,
  rollbackReason,
  withDeletionRequested,
} from '../src/core/deployment-identity.js';
import {
  applyPatch,
  type DeploymentConfigurationInput,
  type DeploymentInput,
  type DeploymentPatch,
  specFromInput,
  validateDeploymentName,
} from '../src/core/deployment-spec.js';
import { WORKLOAD_SPEC_KINDS } from '../src/workloads/workload-kind.js';
import type { Deployment, ScalingSpec } from '../src/core/resources.js';

const input: DeploymentInput = {
  name: 'readmission',
  environment: 'staging',
  model: { name: 'readmission', version: '1.4.0' },
};

test('specFromInput fills the defaults', () => {
  assert.deepEqual(specFromInput(input, WORKLOAD_SPEC_KINDS), {
    type: 'model',
    model: { name: 'readmission', version: '1.4.0' },
    configuration: {
      replicas: 1,
      resources: { cpu: '500m', memory: '512Mi', gpu: 0 },
      scaling: { min: 1, max: 1, targetCPU: 80, targetMemory: 80 },
      healthCheck: { path: '/v2/health/ready', interval: 5, timeout: 2, retries: 3 },
    },
    strategy: { type: 'rolling' },
  });
  const three = specFromInput(
    { ...input, configuration: { replicas: 3, resources: { cpu: '2' } } },
    WORKLOAD_SPEC_KINDS,
  );
  assert.equal(three.configuration.replicas, 3);
  assert.deepEqual(three.configuration.scaling, { min: 3, max: 3, targetCPU: 80, targetMemory: 80 });
  assert.deepEqual(three.configuration.resources, { cpu: '2', memory: '512Mi', gpu: 0 });
});

const invalidInputs: { name: string; input: unknown; error: RegExp }[] = [
  {
    name: 'replicas above 100',
    input: { ...input, configuration: { replicas: 101 } },
    error: /^configuration\.replicas: must be an integer from 0 to 100, got 101$/,
  },
  {
    name: 'negative replicas',
    input: { ...input, configuration: { replicas: -1 } },
    error: /^configuration\.replicas: .*got -1$/,
  },
  {
    name: 'fractional replicas',
    input: { ...input, configuration: { replicas: 1.5 } },
    error: /^configuration\.replicas: /,
  },
  {
    name: 'replicas as a string',
    input: { ...input, configuration: { replicas: '2' } },
    error: /^configuration\.replicas: .*got "2"$/,
  },
  {
    name: 'a misspelt field',
    input: { ...input, configuration: { replica: 2 } },
    error: /^configuration\.replica: unknown field/,
  },
  { name: 'an unknown top-level field', input: { ...input, replicas: 2 }, error: /^replicas: unknown field/ },
  { name: 'no model', input: { name: 'x', environment: 'staging' }, error: /^model: is required for type 'model'$/ },
  {
    name: 'a model version with a slash',
    input: { ...input, model: { name: 'readmission', version: '1/4' } },
    error: /^model\.version: must not contain '\/'/,
  },
  {
    name: 'application type with a model',
    input: { ...input, type: 'application' },
    error: /^model: must not be set for type 'application'/,
  },
  { name: 'an unknown type', input: { ...input, type: 'workflow' }, error: /^type: must be 'model' or 'application'/ },
  {
    name: 'a bad cpu quantity',
    input: { ...input, configuration: { resources: { cpu: 'lots' } } },
    error: /^configuration\.resources\.cpu: /,
  },
  {
    name: 'zero memory',
    input: { ...input, configuration: { resources: { memory: '0Mi' } } },
    error: /^configuration\.resources\.memory: /,
  },
  {
    name: 'scaling min above max',
    input: { ...input, configuration: { scaling: { min: 3, max: 2 } } },
    error: /^configuration\.scaling\.max: must be at least scaling\.min \(3\), got 2$/,
  },
  {
    name: 'an unknown scaling field',
    input: { ...input, configuration: { scaling: { targetRPS: 5 } } },
    error: /^configuration\.scaling\.targetRPS: unknown field \(allowed: min, max, targetCPU, targetMemory, metric, /,
  },
  {
    name: 'a scaling rule beyond the bounds',
    input: { ...input, configuration: { scaling: { min: 0, max: 3, panicThreshold: 1 } } },
    error: /^configuration\.scaling\.panicThreshold: must be a multiple from 1\.1 to 10, got 1$/,
  },
  {
    name: 'a bad schedule cron',
    input: {
      ...input,
      configuration: { scaling: { min: 1, max: 3, schedules: [{ name: 'day', start: '0 8 * *', end: '0 18 * * *' }] } },
    },
    error: /^configuration\.scaling\.schedules\[0\]\.start: must be a 5-field cron expression/,
  },
  {
    name: 'a relative health path',
    input: { ...input, configuration: { healthCheck: { path: 'health' } } },
    error: /^configuration\.healthCheck\.path: /,
  },
  {
    name: 'timeout above interval',
    input: { ...input, configuration: { healthCheck: { interval: 2, timeout: 3 } } },
    error: /^configuration\.healthCheck\.timeout: .*healthCheck\.interval \(2\), got 3$/,
  },
  {
    name: 'auth without required',
    input: { ...input, configuration: { auth: {} } },
    error: /^configuration\.auth\.required: must be true or false, got nothing$/,
  },
  {
    name: 'auth.required as a string',
    input: { ...input, configuration: { auth: { required: 'yes' } } },
    error: /^configuration\.auth\.required: must be true or false, got "yes"$/,
  },
  {
    name: 'an unknown auth field',
    input: { ...input, configuration: { auth: { required: true, scopes: ['x'] } } },
    error: /^configuration\.auth\.scopes: unknown field \(allowed: required\)$/,
  },
  {
    name: 'a zero rate',
    input: { ...input, configuration: { rateLimit: { requestsPerSecond: 0 } } },
    error: /^configuration\.rateLimit\.requestsPerSecond: must be a number above 0 and at most 1000000, got 0$/,
  },
  {
    name: 'a rate limit without a rate',
    input: { ...input, configuration: { rateLimit: { burst: 5 } } },
    error: /^configuration\.rateLimit\.requestsPerSecond: must be a number from 0 to 1000000, got nothing$/,
  },
  {
    name: 'a fractional burst',
    input: { ...input, configuration: { rateLimit: { requestsPerSecond: 5, burst: 1.5 } } },
    error: /^configuration\.rateLimit\.burst: must be an integer from 1 to 1000000, got 1\.5$/,
  },
  {
    name: 'a rate limit per something else',
    input: { ...input, configuration: { rateLimit: { requestsPerSecond: 5, per: 'ip' } } },
    error: /^configuration\.rateLimit\.per: must be one of 'token', 'client', got "ip"$/,
  },
  {
    name: 'an unknown strategy',
    input: { ...input, strategy: { type: 'yolo' } },
    error: /^strategy\.type: must be one of /,
  },
];

for (const c of invalidInputs) {
  test(`specFromInput refuses ${c.name}`, () => {
    assert.throws(
      () => specFromInput(c.input as DeploymentInput, WORKLOAD_SPEC_KINDS),
      (e: Error) => {
        assert.equal((e as { code?: string }).code, 'INVALID_ARGUMENT');
        assert.match(e.message, c.error);
        return true;
      },
    );
  });
}

test('auth and rateLimit: created as given, patched field by field, removed with null', () => {
  const spec = specFromInput(
    { ...input, configuration: { auth: { required: true }, rateLimit: { requestsPerSecond: 20 } } },
    WORKLOAD_SPEC_KINDS,
  );
  assert.deepEqual(spec.configuration.auth, { required: true });
  assert.deepEqual(spec.configuration.rateLimit, { requestsPerSecond: 20 });
  assert.equal(specFromInput(input, WORKLOAD_SPEC_KINDS).configuration.auth, undefined, 'open by default');
  const patched = applyPatch(spec, { configuration: { rateLimit: { burst: 40, per: 'client' } } }, WORKLOAD_SPEC_KINDS);
  assert.deepEqual(patched.configuration.rateLimit, { requestsPerSecond: 20, burst: 40, per: 'client' });
  assert.deepEqual(patched.configuration.auth, { required: true }, 'untouched by a patch that does not name it');
  const opened = applyPatch(patched, { configuration: { auth: null, rateLimit: null } }, WORKLOAD_SPEC_KINDS);
  assert.equal(opened.configuration.auth, undefined);
  assert.equal(opened.configuration.rateLimit, undefined);
  assert.deepEqual(spec.configuration.rateLimit, { requestsPerSecond: 20 }, 'the original is not changed');
  assert.throws(
    () => applyPatch(spec, { configuration: { rateLimit: { requestsPerSecond: -1 } } }, WORKLOAD_SPEC_KINDS),
    /^InvalidArgumentError: configuration\.rateLimit\.requestsPerSecond: must be a number from 0 to 1000000, got -1$/,
  );
});

test('validateDeploymentName accepts DNS labels only', () => {
  for (const ok of ['a', 'readmission', 'model-2', '0abc', 'a'.repeat(63)]) validateDeploymentName(ok);
  for (const bad of ['', 'Readmission', '-a', 'a-', 'a.b', 'a_b', 'a'.repeat(64), 42]) {
    assert.throws(() => validateDeploymentName(bad), /^InvalidArgumentError: name: must be a DNS label/);
  }
});

test('applyPatch merges field by field and validates the result', () => {
  const spec = specFromInput({ ...input, configuration: { replicas: 2 } }, WORKLOAD_SPEC_KINDS);
  const cases: { patch: DeploymentPatch; check: (s: ReturnType<typeof applyPatch>) => void }[] = [
    { patch: {}, check: (s) => assert.deepEqual(s, spec) },
    {
      patch: { configuration: { replicas: 4 } },
      check: (s) => assert.deepEqual(s, { ...spec, configuration: { ...spec.configuration, replicas: 4 } }),
    },
    {
      patch: { model: { version: '1.3.0' } },
      check: (s) => assert.deepEqual(s.model, { name: 'readmission', version: '1.3.0' }),
    },
    {
      patch: { configuration: { healthCheck: { retries: 5 } } },
      check: (s) => assert.equal(s.configuration.healthCheck.retries, 5),
    },
    { patch: { strategy: { type: 'recreate' } }, check: (s) => assert.deepEqual(s.strategy, { type: 'recreate' }) },
  ];
  for (const c of cases) c.check(applyPatch(spec, c.patch, WORKLOAD_SPEC_KINDS));
  assert.equal(spec.configuration.replicas, 2, 'the input spec is not changed');
  assert.throws(
    () => applyPatch(spec, { configuration: { replicas: 500 } }, WORKLOAD_SPEC_KINDS),
    /configuration\.replicas: must be an integer from 0 to 100, got 500/,
  );
  assert.throws(
    () => applyPatch(spec, { type: 'application' } as DeploymentPatch, WORKLOAD_SPEC_KINDS),
    /^InvalidArgumentError: type: unknown field/,
  );
});

test('scaling: created with its fields, patched field by field', () => {
  const scaling = {
    min: 0,
    max: 5,
    metric: 'rps' as const,
    target: 40,
    hold: { queue: 50, timeout: 20 },
    predictive: { enabled: true },
  };
  const spec = specFromInput({ ...input, configuration: { scaling } }, WORKLOAD_SPEC_KINDS);
  assert.deepEqual(spec.configuration.scaling, { ...scaling, targetCPU: 80, targetMemory: 80 });

  const cases: {
    patch: DeploymentConfigurationInput['scaling'];
    expect: Partial<ScalingSpec>;
    absent?: (keyof ScalingSpec)[];
  }[] = [
    { patch: { hold: { timeout: 60 } as ScalingSpec['hold'] }, expect: { hold: { queue: 50, timeout: 60 } } },
    {
      patch: { predictive: { horizon: 300 } as ScalingSpec['predictive'] },
      expect: { predictive: { enabled: true, horizon: 300 } },
    },
    { patch: { target: 60 }, expect: { metric: 'rps', target: 60 } },
    // A new metric without a target gets the new metric's default, not the old metric's number.
    { patch: { metric: 'concurrency' }, expect: { metric: 'concurrency' }, absent: ['target'] },
    {
      patch: { metric: 'custom', custom: { query: 'sum(queue)', target: 4 } },
      expect: { metric: 'custom', custom: { query: 'sum(queue)', target: 4 } },
      absent: ['target'],
    },
    {
      patch: { schedules: [{ name: 'day', start: '0 8 * * *', end: '0 18 * * *', min: 2 }] },
      expect: { schedules: [{ name: 'day', start: '0 8 * * *', end: '0 18 * * *', min: 2 }] },
    },
  ];
  for (const c of cases) {
    const patched = applyPatch(spec, { configuration: { scaling: c.patch } }, WORKLOAD_SPEC_KINDS).configuration
      .scaling;
    for (const [key, value] of Object.entries(c.expect))
      assert.deepEqual(patched[key as keyof ScalingSpec], value, `${JSON.stringify(c.patch)}: ${key}`);
    for (const key of c.absent ?? []) assert.equal(key in patched, false, `${JSON.stringify(c.patch)}: ${key} dropped`);
  }
  const custom = applyPatch(
    spec,
    {
      configuration: { scaling: { metric: 'custom', custom: { query: 'sum(queue)', target: 4 } } },
    },
    WORKLOAD_SPEC_KINDS,
  );
  assert.equal(
    'custom' in
      applyPatch(custom, { configuration: { scaling: { metric: 'rps' } } }, WORKLOAD_SPEC_KINDS).configuration.scaling,
    false,
    'leaving custom drops its query',
  );
  assert.throws(
    () => applyPatch(spec, { configuration: { scaling: { metric: 'cpu', target: 5 } } }, WORKLOAD_SPEC_KINDS),
    /^InvalidArgumentError: configuration\.scaling\.target: applies to metrics concurrency and rps only/,
  );
  assert.throws(
    () =>
      applyPatch(
        spec,
        { configuration: { scaling: { hold: { queue: 0 } as ScalingSpec['hold'] } } },
        WORKLOAD_SPEC_KINDS,
      ),
    /configuration\.scaling\.hold\.queue: must be an integer from 1 to 10000, got 0/,
  );
});

test('deployment ids, deletion marks and rollback reasons', () => {
  assert.equal(deploymentId('production', 'readmission'), 'production.readmission');
  assert.deepEqual(parseDeploymentId('prod.eu.readmission'), { environment: 'prod.eu', name: 'readmission' });
  assert.equal(parseDeploymentId('nodot'), undefined);
  assert.equal(parseDeploymentId('.x'), undefined);
  const d = { metadata: { created: 't0', updated: 't0', deployedBy: 'a', project: 'p', labels: {} } } as Pick<
    Deployment,
    'metadata'
  >;
  assert.equal(deletionRequestedAt(d), undefined);
  const marked = withDeletionRequested(d, 't1');
  assert.equal(deletionRequestedAt(marked), 't1');
  assert.equal(marked.metadata.updated, 't1');
  assert.equal(deletionRequestedAt(d), undefined, 'the input is not changed');
  assert.equal(isRollbackRevision({ reason: rollbackReason(3) }), true);
  assert.equal(isRollbackRevision({ reason: `${rollbackReason(3)}: bad latency` }), true);
  assert.equal(isRollbackRevision({ reason: 'spec changed: model.version' }), false);
});
