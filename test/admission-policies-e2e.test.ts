// Admission policies through the API of a real control plane (SQLite, local runtime): each kind of
// violation answers 403 POLICY_VIOLATION naming the policy and the rule and changes nothing (no
// deployment, no revision, no event), on create, update, scale, rollback and promotion; the dry run
// answers the same violations without writing; and a push with a test-fault label is refused
// unless the control plane runs with its test switch.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, test } from 'node:test';
import { writeDemoModels } from '../src/demo/write-demo-models.js';
import { type E2eControlPlane, startE2eControlPlane } from './support/control-plane-e2e.js';

const run = promisify(execFile);
const WHARF = join(import.meta.dirname, '..', '..', 'bin', 'wharf.js');

let e: E2eControlPlane;
let onnx: Buffer;

/** Pushes `risk` `version` through the API with `labels` and `metrics`. */
async function push(
  version: string,
  labels: Record<string, string> = {},
  metrics?: Record<string, number>,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const query = new URLSearchParams({ version, labels: JSON.stringify(labels) });
  if (metrics) query.set('metrics', JSON.stringify(metrics));
  const r = await fetch(`${e.cp.apiUrl}/api/v1/models/risk/versions?${query}`, {
    method: 'POST',
    body: onnx,
    headers: { 'content-type': 'application/octet-stream', authorization: `Bearer ${e.aliceToken}` },
  });
  return { status: r.status, body: (await r.json()) as Record<string, unknown> };
}

/** Sets production's policies and region as the admin. */
async function setPolicies(body: Record<string, unknown>): Promise<void> {
  const r = await e.api('/api/v1/environments/production', { method: 'PATCH', json: body, as: e.adminToken });
  if (r.status === 202) {
    // Production requires approval: loosening its policies waits for a second person (four eyes).
    const approval = r.body.approval as { id: string };
    const approved = await e.api(`/api/v1/approvals/${approval.id}/approve`, {
      method: 'POST',
      json: {},
      as: await e.tokenFor('policy-approver'),
    });
    assert.equal(approved.status, 200, JSON.stringify(approved.body));
    return;
  }
  assert.equal(r.status, 200, JSON.stringify(r.body));
}

/** Removes every rule of production but the approval flag. */
const CLEAR_ALL = {
  policies: { requiredLabels: null, requiredMetrics: null, quota: null, allowedModels: null, allowedImages: null },
  region: null,
};

type Violation = { policy: string; rule: string; message: string };

/** Asserts a 403 POLICY_VIOLATION whose violations are exactly `expected` (`policy: rule`), named in the message too. */
function assertDenied(r: { status: number; body: Record<string, unknown> }, expected: string[]): void {
  assert.equal(r.status, 403, JSON.stringify(r.body));
  const error = r.body.error as { code: string; message: string; violations: Violation[] };
  assert.equal(error.code, 'POLICY_VIOLATION');
  assert.deepEqual(
    error.violations.map((v) => `${v.policy}: ${v.rule}`),
    expected,
  );
  for (const v of error.violations)
    assert.ok(error.message.includes(`policies.${v.policy}: rule ${v.rule}: `), error.message);
}

/**
 * What a user's change writes, since `since`: any revision, approval, model, version or environment,
 * or a new deployment. (Status updates and events of the controller are not the request's, and go
 * on while the test runs.)
 */
async function userWrites(since: number): Promise<string[]> {
  const kinds = ['Revision', 'Approval', 'Model', 'ModelVersion', 'Environment', 'Deployment'] as const;
  const changes = await e.cp.store.changes(since, { kinds });
  return changes
    .filter((c) => c.kind !== 'Deployment' || c.type !== 'updated')
    .map((c) => `${c.type} ${c.kind} ${c.key}`);
}

const sequence = (): Promise<number> => e.cp.store.latestSequence();

before(async () => {
  e = await startE2eControlPlane('wharf-admission-', {});
  onnx = await readFile((await writeDemoModels(join(e.home, 'push-models'))).readmission);
  const pushes = [
    push('1.0.0', { validated: 'true', 'wharf.dev/residency': 'eu-west-1' }, { auc: 0.91 }),
    push('1.1.0', { validated: 'true' }, { auc: 0.93 }),
    push('0.9.0', {}, { auc: 0.7 }),
  ];
  for (const r of await Promise.all(pushes)) assert.equal(r.status, 201, JSON.stringify(r.body));
});

after(async () => {
  await e?.stop();
});

test('a push carries its metrics; one with a test-fault label is refused with 400 naming the label', async () => {
  const v = await e.api('/api/v1/models/risk/versions/1.0.0');
  assert.deepEqual(v.body.metrics, { auc: 0.91 });
  const before = await sequence();
  const r = await push('6.6.6', { 'wharf.dev/test-fault-error-rate': '1' });
  assert.equal(r.status, 400);
  const error = r.body.error as { code: string; message: string };
  assert.equal(error.code, 'INVALID_ARGUMENT');
  assert.ok(error.message.startsWith('labels.wharf.dev/test-fault-error-rate: '), error.message);
  assert.match(error.message, /--enable-test-faults/);
  assert.equal((await e.api('/api/v1/models/risk/versions/6.6.6')).status, 404, 'no version recorded');
  assert.deepEqual(await userWrites(before), [], 'nothing written');
  const bad = await push('6.6.7', {}, { auc: Number.NaN } as never);
  assert.equal(bad.status, 400, 'a metric must be a finite number');
});

test('each kind of violation on create answers 403 naming the policy and rule, and creates nothing', async (t) => {
  t.after(() => setPolicies(CLEAR_ALL));
  const create = (version: string, replicas = 1, name = 'risk') =>
    e.api('/api/v1/deployments', {
      method: 'POST',
      json: { name, environment: 'production', model: { name: 'risk', version }, configuration: { replicas } },
    });
  const cases: [string, Record<string, unknown>, string, string[]][] = [
    ['residency', { region: 'us-east-1' }, '1.0.0', ['residency: region in [eu-west-1]']],
    ['labels', { policies: { requiredLabels: { validated: 'true' } } }, '0.9.0', ['requiredLabels: validated=true']],
    [
      'metrics',
      { policies: { requiredMetrics: [{ metric: 'auc', operator: '>=', value: 0.8 }] } },
      '0.9.0',
      ['requiredMetrics: auc >= 0.8'],
    ],
    ['quota', { policies: { quota: { replicas: 1, cpu: '4' } } }, '1.1.0', ['quota: replicas <= 1']],
    ['allowed models', { policies: { allowedModels: ['fraud-*'] } }, '1.1.0', ['allowedModels: model in [fraud-*]']],
  ];
  for (const [what, policies, version, expected] of cases) {
    await setPolicies(CLEAR_ALL);
    await setPolicies(policies);
    const before = await sequence();
    assertDenied(await create(version, what === 'quota' ? 2 : 1), expected);
    assert.deepEqual(await userWrites(before), [], `${what}: nothing written`);
    assert.equal((await e.api('/api/v1/environments/production/deployments/risk')).status, 404, what);
  }
  // All at once: one answer lists every broken rule.
  await setPolicies(CLEAR_ALL);
  await setPolicies({
    region: 'us-east-1',
    policies: { requiredLabels: { reviewed: 'yes' }, quota: { replicas: 1 } },
  });
  assertDenied(await create('1.0.0', 3), [
    'residency: region in [eu-west-1]',
    'requiredLabels: reviewed=yes',
    'quota: replicas <= 1',
  ]);
});

test('update, scale, rollback and promotion are admitted or refused the same way, changing nothing', async (t) => {
  t.after(() => setPolicies(CLEAR_ALL));
  const path = '/api/v1/environments/production/deployments/risk';
  // 1.0.0 may run only in eu-west-1.
  await setPolicies({ region: 'eu-west-1' });
  const created = await e.api('/api/v1/deployments', {
    method: 'POST',
    json: {
      name: 'risk',
      environment: 'production',
      model: { name: 'risk', version: '1.1.0' },
      configuration: { replicas: 1 },
    },
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const updated = await e.api(path, { method: 'PATCH', json: { model: { version: '1.0.0' } } });
  assert.equal(updated.status, 200, JSON.stringify(updated.body));
  assert.equal((updated.body as { revision: number }).revision, 2);

  await setPolicies({
    policies: { requiredMetrics: [{ metric: 'auc', operator: '>', value: 0.92 }], quota: { replicas: 1 } },
  });
  const unchanged = async (what: string, before: number) => {
    assert.deepEqual(await userWrites(before), [], `${what}: nothing written`);
    const d = (await e.api(path)).body as { revision: number; model: { version: string } };
    assert.equal(d.revision, 2, `${what}: no new revision`);
  };
  // The current version (auc 0.91) is under the new threshold, but a scale that keeps it is judged on
  // the quota alone: down is fine, up is not.
  let before = await sequence();
  assertDenied(await e.api(`${path}/scale`, { method: 'POST', json: { replicas: 2 } }), ['quota: replicas <= 1']);
  await unchanged('scale', before);

  before = await sequence();
  assertDenied(await e.api(path, { method: 'PATCH', json: { model: { version: '0.9.0' } } }), [
    'requiredMetrics: auc > 0.92',
  ]);
  await unchanged('update', before);

  await setPolicies({ policies: { requiredMetrics: [{ metric: 'auc', operator: '<', value: 0.92 }] } });
  before = await sequence();
  // Revision 1 ran 1.1.0 (auc 0.93): rolling back to it breaks `auc < 0.92`.
  assertDenied(await e.api(`${path}/rollback`, { method: 'POST', json: {} }), ['requiredMetrics: auc < 0.92']);
  await unchanged('rollback', before);

  // Promotion: staging runs 0.9.0 (no `validated` label); production requires it.
  await setPolicies({ policies: { requiredMetrics: null, quota: null } });
  const staged = await e.api('/api/v1/deployments', {
    method: 'POST',
    json: {
      name: 'risk',
      environment: 'staging',
      model: { name: 'risk', version: '0.9.0' },
      configuration: { replicas: 0 },
    },
  });
  assert.equal(staged.status, 201, JSON.stringify(staged.body));
  await setPolicies({ policies: { requiredLabels: { validated: 'true' } } });
  before = await sequence();
  const promoted = await e.api('/api/v1/deployments/risk/promotions', {
    method: 'POST',
    json: { from: 'staging', to: 'production' },
  });
  assertDenied(promoted, ['requiredLabels: validated=true']);
  await unchanged('promotion', before);
});

test('in an environment that requires approval, a change the policies refuse records no approval', async (t) => {
  t.after(async () => {
    await setPolicies(CLEAR_ALL);
    await setPolicies({ policies: { requiresApproval: false } });
  });
  await setPolicies({ policies: { requiresApproval: true, requiredLabels: { validated: 'true' } } });
  const before = await sequence();
  const r = await e.api('/api/v1/deployments', {
    method: 'POST',
    json: { name: 'gated', environment: 'production', model: { name: 'risk', version: '0.9.0' } },
  });
  assertDenied(r, ['requiredLabels: validated=true']);
  const scaled = await e.api('/api/v1/environments/production/deployments/risk/scale', {
    method: 'POST',
    json: { replicas: 1 },
  });
  assert.equal(scaled.status, 202, 'a change the policies admit still waits for its approval');
  assert.deepEqual(
    (await userWrites(before)).map((w) => w.split(' ').slice(0, 2).join(' ')),
    ['created Approval'],
    'only the admitted change was recorded for approval',
  );
});

test('the dry run answers the violations without writing anything; wharf policy test prints them and exits 1', async (t) => {
  t.after(() => setPolicies(CLEAR_ALL));
  await setPolicies({ region: 'us-east-1', policies: { quota: { memory: '1Gi' } } });
  const before = await sequence();
  const dry = await e.api('/api/v1/environments/production/policy-test', {
    method: 'POST',
    json: { name: 'scorer', model: { name: 'risk', version: '1.0.0' }, configuration: { replicas: 4 } },
  });
  assert.equal(dry.status, 200, JSON.stringify(dry.body));
  assert.equal(dry.body.allowed, false);
  assert.equal(dry.body.change, 'create');
  assert.deepEqual(
    (dry.body.violations as Violation[]).map((v) => `${v.policy}: ${v.rule}`),
    ['residency: region in [eu-west-1]', 'quota: memory <= 1Gi'],
  );
  const fine = await e.api('/api/v1/environments/production/policy-test', {
    method: 'POST',
    json: { name: 'scorer', model: { name: 'risk', version: '1.1.0' }, configuration: { replicas: 1 } },
  });
  assert.deepEqual([fine.body.allowed, fine.body.violations], [true, []]);
  assert.deepEqual(await userWrites(before), [], 'the dry run wrote nothing');
  assert.equal((await e.api('/api/v1/environments/production/deployments/scorer')).status, 404);

  const file = join(e.home, 'scorer.yaml');
  await writeFile(
    file,
    'name: scorer\nenvironment: production\nmodel: { name: risk, version: 1.0.0 }\nconfiguration: { replicas: 4 }\n',
  );
  const cli = await run(process.execPath, [WHARF, 'policy', 'test', '-f', file, '-e', 'production'], {
    env: { ...process.env, ...e.cliEnv() },
  }).then(
    () => assert.fail('a denial exits non-zero'),
    (error: { code: number; stdout: string }) => error,
  );
  assert.equal(cli.code, 1);
  assert.match(cli.stdout, /scorer \(create\) in production: denied, 2 violation/);
  assert.match(cli.stdout, /policies\.residency: rule region in \[eu-west-1\]/);
  assert.match(cli.stdout, /policies\.quota: rule memory <= 1Gi/);
  assert.deepEqual(await userWrites(before), [], 'nor did the CLI');
});

test('wharf env set-policy sets the new rules and clears them', async (t) => {
  t.after(() => setPolicies(CLEAR_ALL));
  const args = [
    WHARF,
    'env',
    'set-policy',
    'production',
    '--region',
    'eu-west-1',
    '--require-label',
    'validated=true',
    '--require-metric',
    'auc>=0.8',
    '--quota-replicas',
    '8',
    '--quota-cpu',
    '4',
    '--allow-model',
    'risk*',
  ];
  await run(process.execPath, args, { env: { ...process.env, ...e.cliEnv(e.adminToken) } });
  const env = (await e.api('/api/v1/environments/production')).body as Record<string, unknown>;
  assert.equal(env.region, 'eu-west-1');
  assert.deepEqual(env.policies, {
    requiresApproval: false,
    requiredLabels: { validated: 'true' },
    requiredMetrics: [{ metric: 'auc', operator: '>=', value: 0.8 }],
    quota: { replicas: 8, cpu: '4' },
    allowedModels: ['risk*'],
  });
  await run(process.execPath, [WHARF, 'env', 'set-policy', 'production', '--clear', 'quota', '--clear', 'region'], {
    env: { ...process.env, ...e.cliEnv(e.adminToken) },
  });
  const cleared = (await e.api('/api/v1/environments/production')).body as Record<string, unknown>;
  assert.equal(cleared.region, undefined);
  assert.equal((cleared.policies as Record<string, unknown>).quota, undefined);
  const bad = await e.api('/api/v1/environments/production', {
    method: 'PATCH',
    json: { policies: { requiredMetrics: [{ metric: 'auc', operator: '≥', value: 0.8 }] } },
    as: e.adminToken,
  });
  assert.equal(bad.status, 400);
  assert.match(String((bad.body.error as { field: string }).field), /^policies\.requiredMetrics\.0\.operator/);
});
