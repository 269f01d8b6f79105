// The admission evaluator (core/admission-policies.ts): every policy kind, every violation reported
// at once, and a change judged on what it introduces (a scale down or an unchanged model is never
// trapped by a rule added later).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  type AdmissionInput,
  describeViolation,
  evaluateAdmission,
  globMatch,
  type PolicyViolation,
} from '../src/core/admission-policies.js';
import { specFromInput } from '../src/core/deployment-spec.js';
import type { DeploymentConfigurationInput } from '../src/core/deployment-spec.js';
import type { DeploymentSpec, EnvironmentPolicies } from '../src/core/resources.js';
import { WORKLOAD_SPEC_KINDS } from '../src/workloads/workload-kind.js';

function spec(version = '1.0.0', configuration: DeploymentConfigurationInput = {}, model = 'risk'): DeploymentSpec {
  return specFromInput(
    { name: 'risk', environment: 'production', model: { name: model, version }, configuration },
    WORKLOAD_SPEC_KINDS,
  );
}

const VERSION = { model: 'risk', version: '1.0.0', labels: { validated: 'true' }, metrics: { auc: 0.91 } };

function evaluate(policies: Partial<EnvironmentPolicies>, rest: Partial<AdmissionInput> = {}): PolicyViolation[] {
  return evaluateAdmission({
    environment: { name: 'production', region: 'eu-west-1', policies: { requiresApproval: false, ...policies } },
    spec: spec(),
    modelVersion: VERSION,
    others: [],
    ...rest,
  });
}

const rules = (vs: PolicyViolation[]): string[] => vs.map((v) => `${v.policy}: ${v.rule}`);

test('no policies: everything is admitted', () => {
  assert.deepEqual(evaluate({}), []);
});

test('residency: a labelled model runs only in a listed region, and not in an environment without one', () => {
  const labelled = { ...VERSION, labels: { 'wharf.dev/residency': 'eu-west-1, eu-central-1' } };
  assert.deepEqual(evaluate({}, { modelVersion: labelled }), []);
  const elsewhere = evaluateAdmission({
    environment: { name: 'us', region: 'us-east-1', policies: { requiresApproval: false } },
    spec: spec(),
    modelVersion: labelled,
    others: [],
  });
  assert.deepEqual(rules(elsewhere), ['residency: region in [eu-west-1, eu-central-1]']);
  assert.match(elsewhere[0]!.message, /in region us-east-1/);
  const nowhere = evaluateAdmission({
    environment: { name: 'lab', policies: { requiresApproval: false } },
    spec: spec(),
    modelVersion: labelled,
    others: [],
  });
  assert.match(nowhere[0]!.message, /in no region/);
});

test('required labels and metrics: missing and wrong values each name their rule', () => {
  const policies = {
    requiredLabels: { validated: 'true', team: 'risk' },
    requiredMetrics: [
      { metric: 'auc', operator: '>=' as const, value: 0.8 },
      { metric: 'latency_p99', operator: '<' as const, value: 0.05 },
    ],
  };
  const vs = evaluate(policies);
  assert.deepEqual(rules(vs), ['requiredLabels: team=risk', 'requiredMetrics: latency_p99 < 0.05']);
  assert.match(vs[1]!.message, /has no metric latency_p99/);
  const low = evaluate(policies, {
    modelVersion: { ...VERSION, labels: { validated: 'false' }, metrics: { auc: 0.7 } },
  });
  assert.deepEqual(rules(low), [
    'requiredLabels: validated=true',
    'requiredLabels: team=risk',
    'requiredMetrics: auc >= 0.8',
    'requiredMetrics: latency_p99 < 0.05',
  ]);
  assert.match(low[0]!.message, /has validated=false/);
  assert.match(low[2]!.message, /has auc = 0\.7/);
  for (const [operator, value, ok] of [
    ['>', 0.91, false],
    ['<=', 0.91, true],
    ['==', 0.91, true],
    ['<', 0.92, true],
  ] as const) {
    assert.equal(
      evaluate({ requiredMetrics: [{ metric: 'auc', operator, value }] }).length === 0,
      ok,
      `${operator} ${value}`,
    );
  }
});

test('a model version the registry does not know fails the label and metric rules, not silently passes', () => {
  const vs = evaluateAdmission({
    environment: { name: 'production', policies: { requiresApproval: false, requiredLabels: { validated: 'true' } } },
    spec: spec(),
    others: [],
  });
  assert.deepEqual(rules(vs), ['requiredLabels: model version known to the registry']);
});

test('allowed models and images: patterns with *', () => {
  assert.deepEqual(evaluate({ allowedModels: ['risk', 'fraud-*'] }), []);
  assert.deepEqual(evaluate({ allowedModels: ['fraud-*'] }, { spec: spec('1.0.0', {}, 'fraud-eu') }), []);
  assert.deepEqual(rules(evaluate({ allowedModels: ['fraud-*'] })), ['allowedModels: model in [fraud-*]']);
  const image = spec('1.0.0', { image: 'docker.io/evil/model:1' });
  assert.deepEqual(rules(evaluate({ allowedImages: ['registry.example.com/*'] }, { spec: image })), [
    'allowedImages: image in [registry.example.com/*]',
  ]);
  const good = spec('1.0.0', { image: 'registry.example.com/risk:1' });
  assert.deepEqual(evaluate({ allowedImages: ['registry.example.com/*'] }, { spec: good }), []);
  assert.equal(globMatch('a.b*', 'aXb'), false, 'a dot is a dot, not any character');
  assert.equal(globMatch('*', ''), true);
});

test('quotas sum replicas, CPU, memory and GPU over the environment, autoscaled at their maximum', () => {
  const others = [spec('1.0.0', { replicas: 2, resources: { cpu: '1', memory: '1Gi', gpu: 1 } })];
  const quota = { replicas: 4, cpu: '3', memory: '3Gi', gpu: 3 };
  assert.deepEqual(
    evaluate(
      { quota },
      { others, spec: spec('1.0.0', { replicas: 1, resources: { cpu: '1', memory: '1Gi', gpu: 1 } }) },
    ),
    [],
  );
  const big = spec('1.0.0', { replicas: 2, resources: { cpu: '1', memory: '1Gi', gpu: 1 } });
  const vs = evaluate({ quota }, { others, spec: big });
  assert.deepEqual(rules(vs), ['quota: cpu <= 3', 'quota: memory <= 3Gi', 'quota: gpu <= 3']);
  assert.equal(
    describeViolation(vs[0]!),
    'policies.quota: rule cpu <= 3: production would ask for 4 cpu in all (its other deployments 2)',
  );
  const autoscaled = spec('1.0.0', { replicas: 1, scaling: { min: 1, max: 5 } });
  assert.deepEqual(rules(evaluate({ quota: { replicas: 4 } }, { others: [], spec: autoscaled })), [
    'quota: replicas <= 4',
  ]);
});

test('a change is judged on what it introduces: shrinking or keeping the model is never refused', () => {
  const current = spec('1.0.0', { replicas: 6 });
  const quota = { replicas: 4 };
  // Over quota already (the quota came later): scaling down, or to zero, is admitted.
  assert.deepEqual(evaluate({ quota }, { current, spec: spec('1.0.0', { replicas: 5 }) }), []);
  assert.deepEqual(evaluate({ quota }, { current, spec: spec('1.0.0', { replicas: 0 }) }), []);
  assert.deepEqual(rules(evaluate({ quota }, { current, spec: spec('1.0.0', { replicas: 7 }) })), [
    'quota: replicas <= 4',
  ]);
  // The model stays: a label rule added since does not block a scale.
  const unvalidated = { ...VERSION, labels: {} };
  const policies = { requiredLabels: { validated: 'true' } };
  assert.deepEqual(
    evaluate(policies, { current, spec: spec('1.0.0', { replicas: 2 }), modelVersion: unvalidated }),
    [],
  );
  // A new version (an update, a rollback, a promotion) is judged.
  assert.deepEqual(rules(evaluate(policies, { current, spec: spec('0.9.0'), modelVersion: unvalidated })), [
    'requiredLabels: validated=true',
  ]);
});

test('every violation is reported in one answer', () => {
  const vs = evaluate(
    {
      requiredLabels: { reviewed: 'yes' },
      requiredMetrics: [{ metric: 'auc', operator: '>=', value: 0.95 }],
      quota: { replicas: 1 },
      allowedModels: ['fraud'],
    },
    { spec: spec('1.0.0', { replicas: 3 }) },
  );
  assert.deepEqual(
    vs.map((v) => v.policy),
    ['allowedModels', 'requiredLabels', 'requiredMetrics', 'quota'],
  );
});
