import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  type DeploymentPlan,
  type ObservedWorkload,
  type PlanInput,
  planDeployment,
} from '../src/controller/reconcilers/deployment-plan.js';
import type { DeploymentStatus } from '../src/core/resources.js';

const T0 = '2026-01-01T00:00:00.000Z';
const T1 = '2026-01-01T00:01:00.000Z';
const fresh: DeploymentStatus = { phase: 'deploying', conditions: [], readyReplicas: 0, observedRevision: 0 };
const running = (revision: number): DeploymentStatus => ({
  phase: 'running',
  conditions: [],
  readyReplicas: 2,
  observedRevision: revision,
  message: '2/2 replicas ready',
});

const w = (revision: number, readyReplicas: number, desiredReplicas = 2, crashLoop?: string): ObservedWorkload =>
  crashLoop === undefined
    ? { revision, readyReplicas, desiredReplicas }
    : { revision, readyReplicas, desiredReplicas, crashLoop };

function input(overrides: Partial<PlanInput>): PlanInput {
  return {
    revision: 1,
    replicas: 2,
    strategy: { type: 'rolling' },
    rollback: false,
    deleting: false,
    workloads: [],
    status: fresh,
    now: T1,
    ...overrides,
  };
}

interface Expected {
  /** `revision:replicas` of the workloads to apply. */
  apply: string[];
  remove: number[];
  deleteRecord?: boolean;
  phase: DeploymentStatus['phase'];
  message: string | RegExp;
  readyReplicas: number;
  converged: boolean;
  /** Available condition status. */
  available: 'True' | 'False';
  /** Reasons of the events, in order. */
  events: string[];
}

const cases: { name: string; input: PlanInput; expect: Expected }[] = [
  {
    name: 'first deploy, nothing runs yet',
    input: input({}),
    expect: {
      apply: ['1:2'],
      remove: [],
      phase: 'deploying',
      message: 'revision 1: 0/2 replicas ready',
      readyReplicas: 0,
      converged: false,
      available: 'False',
      events: ['Deploying'],
    },
  },
  {
    name: 'first deploy, one of two ready',
    input: input({ workloads: [w(1, 1)], status: { ...fresh, observedRevision: 1 } }),
    expect: {
      apply: ['1:2'],
      remove: [],
      phase: 'deploying',
      message: 'revision 1: 1/2 replicas ready',
      readyReplicas: 1,
      converged: false,
      available: 'True',
      events: [],
    },
  },
  {
    name: 'all replicas ready',
    input: input({ workloads: [w(1, 2)], status: { ...fresh, observedRevision: 1 } }),
    expect: {
      apply: ['1:2'],
      remove: [],
      phase: 'running',
      message: '2/2 replicas ready',
      readyReplicas: 2,
      converged: true,
      available: 'True',
      events: ['Running'],
    },
  },
  {
    name: 'update: the old revision serves while the new one starts',
    input: input({ revision: 2, workloads: [w(1, 2), w(2, 0)], status: running(1) }),
    expect: {
      apply: ['1:2', '2:2'],
      remove: [],
      phase: 'deploying',
      message: 'rolling update to revision 2: new 0/2 ready, old 2 ready (maxSurge 1, maxUnavailable 0)',
      readyReplicas: 2,
      converged: false,
      available: 'True',
      events: ['RolloutStarted', 'Deploying'],
    },
  },
  {
    name: 'update: the new revision is ready; the old one leaves traffic and stays up for the drain delay',
    input: input({
      revision: 2,
      workloads: [w(1, 2), w(2, 2)],
      status: { ...running(1), phase: 'deploying', observedRevision: 2 },
    }),
    expect: {
      apply: ['1:2', '2:2'],
      remove: [],
      phase: 'running',
      message: '2/2 replicas ready',
      readyReplicas: 2,
      converged: false,
      available: 'True',
      events: ['Running'],
    },
  },
  {
    name: 'update: several old revisions leave at once when the new is ready',
    input: input({ revision: 4, workloads: [w(1, 2), w(3, 1), w(4, 2)], status: running(4) }),
    expect: {
      apply: ['1:2', '3:2', '4:2'],
      remove: [],
      phase: 'running',
      message: '2/2 replicas ready',
      readyReplicas: 2,
      converged: false,
      available: 'True',
      events: [],
    },
  },
  {
    name: 'scale: a new revision with more replicas is not ready with the old count',
    input: input({ revision: 2, replicas: 3, workloads: [w(1, 2), w(2, 2, 3)], status: running(1) }),
    expect: {
      apply: ['1:1', '2:3'],
      remove: [],
      phase: 'deploying',
      message: 'rolling update to revision 2: new 2/3 ready, old 2 ready (maxSurge 1, maxUnavailable 0)',
      readyReplicas: 3,
      converged: false,
      available: 'True',
      events: ['RolloutStarted', 'Deploying'],
    },
  },
  {
    name: 'recreate: old revisions are removed before the new one is ready',
    input: input({ revision: 2, strategy: { type: 'recreate' }, workloads: [w(1, 2), w(2, 0)], status: running(1) }),
    expect: {
      apply: ['2:2'],
      remove: [1],
      phase: 'deploying',
      message: 'recreating: revision 2 0/2 replicas ready (the old revision was stopped first)',
      readyReplicas: 0,
      converged: false,
      available: 'False',
      events: ['RolloutStarted', 'Deploying'],
    },
  },
  {
    name: 'crash loop of the new revision stalls a rolling update; the old one keeps serving',
    input: input({
      revision: 2,
      workloads: [w(1, 2), w(2, 0, 2, 'exited with code 1')],
      status: { ...running(1), phase: 'deploying', observedRevision: 2 },
    }),
    expect: {
      apply: ['1:2', '2:2'],
      remove: [],
      phase: 'failed',
      message: 'revision 2 is crash-looping: exited with code 1; older revisions keep serving',
      readyReplicas: 2,
      converged: false,
      available: 'True',
      events: ['RolloutStarted', 'Failed'],
    },
  },
  {
    name: 'crash loop of a first deploy',
    input: input({ workloads: [w(1, 0, 2, 'OOMKilled')] }),
    expect: {
      apply: ['1:2'],
      remove: [],
      phase: 'failed',
      message: 'revision 1 is crash-looping: OOMKilled',
      readyReplicas: 0,
      converged: false,
      available: 'False',
      events: ['Failed'],
    },
  },
  {
    name: 'rollback reads rolling-back until ready',
    input: input({ revision: 3, rollback: true, workloads: [w(2, 2), w(3, 1)], status: running(2) }),
    expect: {
      apply: ['2:2', '3:2'],
      remove: [],
      phase: 'rolling-back',
      message: 'rolling back to revision 3: 1/2 replicas ready; revision 2 serves until then',
      readyReplicas: 2,
      converged: false,
      available: 'True',
      events: ['RolloutStarted', 'RollingBack'],
    },
  },
  {
    name: 'scaled to zero: everything is removed',
    input: input({ revision: 2, replicas: 0, workloads: [w(1, 2)], status: running(1) }),
    expect: {
      apply: [],
      remove: [1],
      phase: 'stopped',
      message: 'stopping 1 workload',
      readyReplicas: 0,
      converged: false,
      available: 'False',
      events: ['Stopped'],
    },
  },
  {
    name: 'scaled to zero and nothing runs',
    input: input({
      revision: 2,
      replicas: 0,
      workloads: [],
      status: { ...fresh, phase: 'stopped', observedRevision: 2 },
    }),
    expect: {
      apply: [],
      remove: [],
      phase: 'stopped',
      message: 'stopped (0 replicas)',
      readyReplicas: 0,
      converged: true,
      available: 'False',
      events: [],
    },
  },
  {
    name: 'deletion: workloads are removed first',
    input: input({ revision: 2, deleting: true, workloads: [w(1, 2), w(2, 2)], status: running(2) }),
    expect: {
      apply: [],
      remove: [1, 2],
      phase: 'stopped',
      message: 'deleting: stopping 2 workloads',
      readyReplicas: 0,
      converged: false,
      available: 'False',
      events: ['Deleting'],
    },
  },
  {
    name: 'deletion: nothing runs, the record goes',
    input: input({ revision: 2, deleting: true, workloads: [], status: { ...running(2), phase: 'stopped' } }),
    expect: {
      apply: [],
      remove: [],
      deleteRecord: true,
      phase: 'stopped',
      message: 'deleted',
      readyReplicas: 0,
      converged: true,
      available: 'False',
      events: [],
    },
  },
  {
    name: 'blocked (model version gone): nothing applied or removed, old revision keeps serving',
    input: input({
      revision: 3,
      blocked: 'model readmission version 9.9.9 does not exist',
      workloads: [w(2, 2)],
      status: running(2),
    }),
    expect: {
      apply: [],
      remove: [],
      phase: 'failed',
      message: 'revision 3: model readmission version 9.9.9 does not exist; older revisions keep serving',
      readyReplicas: 0,
      converged: true,
      available: 'True',
      events: ['Failed'],
    },
  },
];

function summary(plan: DeploymentPlan): Expected {
  return {
    apply: plan.apply.map((a) => `${a.revision}:${a.replicas}`),
    remove: [...plan.remove],
    ...(plan.deleteRecord ? { deleteRecord: true } : {}),
    phase: plan.status.phase,
    message: plan.status.message ?? '',
    readyReplicas: plan.status.readyReplicas,
    converged: plan.converged,
    available: plan.status.conditions.find((c) => c.type === 'Available')?.status === 'True' ? 'True' : 'False',
    events: plan.events.map((e) => e.reason),
  };
}

for (const c of cases) {
  test(`planDeployment: ${c.name}`, () => {
    const plan = planDeployment(c.input);
    const expected = { ...c.expect };
    if (expected.deleteRecord === false) delete expected.deleteRecord;
    assert.deepEqual(summary(plan), expected);
    assert.equal(plan.status.observedRevision, c.input.revision);
    if (plan.status.phase === 'failed' && plan.events.length > 0)
      assert.ok(
        plan.events.some((e) => e.type === 'Warning'),
        'a failure is recorded as a Warning event',
      );
  });
}

test('planDeployment: conditions keep their transition time while their status holds', () => {
  const first = planDeployment(input({ workloads: [w(1, 2)], now: T0 }));
  const again = planDeployment(input({ workloads: [w(1, 2)], status: first.status, now: T1 }));
  assert.deepEqual(again.status, first.status, 'same observation, same status: nothing to write');
  assert.deepEqual(again.events, []);
  const progressing = first.status.conditions.find((c) => c.type === 'Progressing');
  assert.deepEqual(
    progressing && {
      status: progressing.status,
      reason: progressing.reason,
      lastTransitionTime: progressing.lastTransitionTime,
    },
    {
      status: 'False',
      reason: 'RevisionAvailable',
      lastTransitionTime: T0,
    },
  );
  const update = planDeployment(input({ revision: 2, workloads: [w(1, 2)], status: first.status, now: T1 }));
  assert.equal(update.status.conditions.find((c) => c.type === 'Progressing')?.lastTransitionTime, T1);
  assert.equal(
    update.status.conditions.find((c) => c.type === 'Available')?.lastTransitionTime,
    T0,
    'still available: old revision serves',
  );
});

test('planDeployment: a retired revision is removed once its drain delay has passed', () => {
  const first = planDeployment(
    input({ revision: 2, workloads: [w(1, 2), w(2, 2)], status: { ...running(1), observedRevision: 2 }, now: T0 }),
  );
  assert.deepEqual(first.remove, []);
  assert.deepEqual(
    first.status.rollout?.traffic.targets,
    [{ revision: 2, weight: 100 }],
    'traffic leaves revision 1 at once',
  );
  const later = new Date(Date.parse(T0) + 2_500).toISOString();
  const second = planDeployment(
    input({ revision: 2, workloads: [w(1, 2), w(2, 2)], status: first.status, now: later }),
  );
  assert.deepEqual(second.remove, [1]);
  assert.deepEqual(second.apply, [{ revision: 2, replicas: 2 }]);
});
