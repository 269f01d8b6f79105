import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { DeploymentSpec } from '../src/core/resources.js';
import { changedFields, diffSpecs, type FieldChange, jsonEqual, renderDiff } from '../src/core/revision-diff.js';

const base: DeploymentSpec = {
  type: 'model',
  model: { name: 'readmission', version: '1.3.0' },
  configuration: {
    replicas: 2,
    resources: { cpu: '500m', memory: '512Mi', gpu: 0 },
    scaling: { min: 2, max: 2, targetCPU: 80, targetMemory: 80 },
    healthCheck: { path: '/v2/health/ready', interval: 5, timeout: 2, retries: 3 },
  },
  strategy: { type: 'rolling' },
};

function edit(change: (s: DeploymentSpec) => void): DeploymentSpec {
  const s = structuredClone(base);
  change(s);
  return s;
}

const cases: { name: string; to: DeploymentSpec; changes: FieldChange[]; text: string }[] = [
  { name: 'identical specs', to: structuredClone(base), changes: [], text: 'no changes' },
  {
    name: 'one leaf',
    to: edit((s) => (s.configuration.replicas = 3)),
    changes: [{ path: 'configuration.replicas', from: 2, to: 3 }],
    text: 'configuration.replicas: 2 → 3',
  },
  {
    name: 'several fields, in alphabetical path order',
    to: edit((s) => {
      s.model = { name: 'readmission', version: '1.4.0' };
      s.configuration.resources.cpu = '1';
      s.configuration.healthCheck.retries = 5;
    }),
    changes: [
      { path: 'configuration.healthCheck.retries', from: 3, to: 5 },
      { path: 'configuration.resources.cpu', from: '500m', to: '1' },
      { path: 'model.version', from: '1.3.0', to: '1.4.0' },
    ],
    text: 'configuration.healthCheck.retries: 3 → 5\nconfiguration.resources.cpu: "500m" → "1"\nmodel.version: "1.3.0" → "1.4.0"',
  },
  {
    name: 'a field added',
    to: edit((s) => (s.configuration.image = 'ghcr.io/acme/app:1')),
    changes: [{ path: 'configuration.image', from: undefined, to: 'ghcr.io/acme/app:1' }],
    text: 'configuration.image: (unset) → "ghcr.io/acme/app:1"',
  },
  {
    name: 'an object added on one side is one change',
    to: edit(
      (s) => (s.strategy = { type: 'canary', canary: { steps: [{ setWeight: 10 }, { pause: { duration: '5m' } }] } }),
    ),
    changes: [
      { path: 'strategy.canary', from: undefined, to: { steps: [{ setWeight: 10 }, { pause: { duration: '5m' } }] } },
      { path: 'strategy.type', from: 'rolling', to: 'canary' },
    ],
    text: 'strategy.canary: (unset) → {"steps":[{"setWeight":10},{"pause":{"duration":"5m"}}]}\nstrategy.type: "rolling" → "canary"',
  },
  {
    name: 'arrays are leaves',
    to: edit((s) => (s.strategy = { type: 'canary', canary: { steps: [{ setWeight: 10 }, { setWeight: 60 }] } })),
    changes: [
      { path: 'strategy.canary', from: undefined, to: { steps: [{ setWeight: 10 }, { setWeight: 60 }] } },
      { path: 'strategy.type', from: 'rolling', to: 'canary' },
    ],
    text: 'strategy.canary: (unset) → {"steps":[{"setWeight":10},{"setWeight":60}]}\nstrategy.type: "rolling" → "canary"',
  },
];

for (const c of cases) {
  test(`diffSpecs: ${c.name}`, () => {
    const changes = diffSpecs(base, c.to);
    assert.deepEqual(changes, c.changes);
    assert.equal(renderDiff(changes), c.text);
  });
}

test('diffSpecs: key order does not matter; reverse diff swaps from and to', () => {
  const reordered = {
    strategy: base.strategy,
    configuration: base.configuration,
    model: base.model,
    type: base.type,
  } as DeploymentSpec;
  assert.deepEqual(diffSpecs(base, reordered), []);
  const to = edit((s) => (s.configuration.replicas = 5));
  assert.deepEqual(diffSpecs(to, base), [{ path: 'configuration.replicas', from: 5, to: 2 }]);
});

test('diffSpecs: nested options compared leaf by leaf', () => {
  const a = edit(
    (s) =>
      (s.strategy = {
        type: 'canary',
        canary: { steps: [{ setWeight: 10 }], analysis: { template: 'latency', args: { max: 200 } } },
      }),
  );
  const b = edit(
    (s) =>
      (s.strategy = {
        type: 'canary',
        canary: { steps: [{ setWeight: 10 }], analysis: { template: 'latency', args: { max: 250 } } },
      }),
  );
  assert.deepEqual(diffSpecs(a, b), [{ path: 'strategy.canary.analysis.args.max', from: 200, to: 250 }]);
});

test('changedFields lists paths; jsonEqual ignores key order but not array order', () => {
  assert.equal(
    changedFields([
      { path: 'a.b', from: 1, to: 2 },
      { path: 'c', from: 1, to: 2 },
    ]),
    'a.b, c',
  );
  assert.equal(jsonEqual({ a: 1, b: [1, 2] }, { b: [1, 2], a: 1 }), true);
  assert.equal(jsonEqual([1, 2], [2, 1]), false);
  assert.equal(jsonEqual({ a: undefined }, {}), true);
  assert.equal(jsonEqual(null, {}), false);
});
