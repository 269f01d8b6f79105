/**
 * Table tests of the rollout engine: every transition of every strategy, driven step by step with
 * observations, as the reconciler would (status out of one step is the input of the next).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { step } from '../src/core/rollout/engine.js';
import type {
  AnalysisRunView,
  RolloutObservations,
  RolloutRequest,
  RolloutStatus,
  RolloutStep,
  WorkloadObservation,
} from '../src/core/rollout/rollout-types.js';
import type { StrategySpec } from '../src/core/strategy.js';

const T0 = Date.parse('2026-01-01T00:00:00.000Z');
const w = (
  revision: number,
  readyReplicas: number,
  desiredReplicas = readyReplicas,
  crashLoop?: string,
): WorkloadObservation => ({
  revision,
  desiredReplicas,
  readyReplicas,
  ...(crashLoop === undefined ? {} : { crashLoop }),
});

/** Observations with defaults: revision 2 (workload 2), 4 replicas, stable 1 running. */
function obs(overrides: Partial<RolloutObservations> = {}): RolloutObservations {
  return {
    now: T0,
    revision: 2,
    workloadRevision: 2,
    replicas: 4,
    rollback: false,
    workloads: [w(1, 4)],
    requests: [],
    drainMs: 2_000,
    ...overrides,
  };
}

const healthy = (stable: number, revision = stable): RolloutStatus => ({
  revision,
  stable,
  strategy: 'canary',
  phase: 'Healthy',
  stepIndex: 0,
  weight: 0,
  retiring: [],
  handledRequest: 0,
  traffic: { targets: [{ revision: stable, weight: 100 }] },
  message: '',
});

const canary: StrategySpec = {
  type: 'canary',
  canary: {
    steps: [
      { setWeight: 25 },
      { pause: { duration: '10s' } },
      { analysis: { template: 'default' } },
      { setWeight: 50 },
      { pause: {} },
    ],
    scaleDownDelaySeconds: 30,
  },
};

const weights = (s: RolloutStep) => s.status.traffic.targets.map((t) => `${t.revision}:${t.weight}`).join(' ');
const workloads = (s: RolloutStep) => s.actions.workloads.map((x) => `${x.revision}:${x.replicas}`).join(' ');
const request = (id: number, action: RolloutRequest['action'], revision = 2): RolloutRequest => ({
  id,
  action,
  revision,
  by: 'bob',
  at: new Date(T0).toISOString(),
});
const withAnalysis = (s: RolloutStatus, run: AnalysisRunView): RolloutStatus => ({ ...s, analysis: run });

test('canary: start scales the canary for the first weight before moving traffic', () => {
  const s = step(canary, healthy(1), obs({ workloads: [w(1, 4)] }));
  assert.equal(s.status.phase, 'Progressing');
  assert.equal(s.status.canary, 2);
  assert.equal(s.status.weight, 0);
  assert.equal(workloads(s), '1:4 2:1');
  assert.equal(weights(s), '1:100 2:0');
  assert.deepEqual(
    s.actions.events.map((e) => e.reason),
    ['RolloutStarted'],
  );
  assert.match(s.status.message, /waiting for 1 ready replica/);
});

test('canary: setWeight then a timed pause; the pause ends at its time, not before', () => {
  const a = step(canary, healthy(1), obs());
  const b = step(canary, a.status, obs({ workloads: [w(1, 4), w(2, 1)] }));
  assert.equal(weights(b), '1:75 2:25');
  assert.equal(b.status.stepIndex, 1);
  assert.equal(b.actions.wakeAt, T0 + 10_000, 'wakes when the pause ends');
  const c = step(canary, b.status, obs({ now: T0 + 9_000, workloads: [w(1, 4), w(2, 1)] }));
  assert.equal(c.status.stepIndex, 1, 'still pausing');
  const d = step(canary, c.status, obs({ now: T0 + 10_000, workloads: [w(1, 4), w(2, 1)] }));
  assert.equal(d.status.stepIndex, 2, 'pause over: the analysis step');
  assert.deepEqual(d.actions.startAnalysis, [{ slot: 'analysis', template: 'default' }]);
  assert.equal(d.status.analysis?.phase, 'running');
});

/** A canary rollout at its analysis step (index 2), 25% on the canary. */
function atAnalysis(): RolloutStatus {
  let s = step(canary, healthy(1), obs()).status;
  s = step(canary, s, obs({ workloads: [w(1, 4), w(2, 1)] })).status;
  return step(canary, s, obs({ now: T0 + 10_000, workloads: [w(1, 4), w(2, 1)] })).status;
}

test('canary: analysis pass moves on; the next setWeight scales the canary first', () => {
  const passed = step(
    canary,
    withAnalysis(atAnalysis(), { phase: 'successful' }),
    obs({ now: T0 + 12_000, workloads: [w(1, 4), w(2, 1)] }),
  );
  assert.equal(passed.status.stepIndex, 3);
  assert.equal(workloads(passed), '1:4 2:2', '50% of 4 replicas needs 2');
  assert.equal(weights(passed), '1:75 2:25', 'traffic waits for the replicas');
  const moved = step(canary, passed.status, obs({ now: T0 + 13_000, workloads: [w(1, 4), w(2, 2)] }));
  assert.equal(weights(moved), '1:50 2:50');
  assert.equal(moved.status.phase, 'Paused', 'an untimed pause waits for promote');
  assert.match(moved.status.message, /paused at 50% until promoted/);
  assert.equal(moved.actions.settled, true);
});

test('canary: analysis failure aborts at once: all traffic on stable, canary retired, incident', () => {
  const failed = step(
    canary,
    withAnalysis(atAnalysis(), { phase: 'failed', message: 'success-rate 0.5 < min 0.99' }),
    obs({ now: T0 + 12_000, workloads: [w(1, 4), w(2, 1)] }),
  );
  assert.equal(failed.status.phase, 'Aborted');
  assert.equal(weights(failed), '1:100');
  assert.match(failed.status.abortReason ?? '', /analysis default failed: success-rate 0.5 < min 0.99/);
  assert.deepEqual(
    failed.status.retiring.map((r) => r.revision),
    [2],
  );
  assert.equal(workloads(failed), '1:4 2:1', 'the canary stays up only for the drain delay');
  assert.equal(failed.actions.incident?.reason, 'RolloutAborted');
  assert.ok(failed.actions.events.some((e) => e.reason === 'RolloutAborted' && e.type === 'Warning'));
  const later = step(canary, failed.status, obs({ now: T0 + 15_000, workloads: [w(1, 4), w(2, 1)] }));
  assert.equal(workloads(later), '1:4', 'removed after the drain delay');
  assert.equal(later.status.phase, 'Aborted', 'stays aborted until retry or a new revision');
});

test('canary: analysis error aborts; inconclusive pauses until promoted (or follows onInconclusive)', () => {
  const error = step(
    canary,
    withAnalysis(atAnalysis(), { phase: 'error', message: 'no Prometheus' }),
    obs({ workloads: [w(1, 4), w(2, 1)] }),
  );
  assert.equal(error.status.phase, 'Aborted');
  const unsure = step(
    canary,
    withAnalysis(atAnalysis(), { phase: 'inconclusive', message: '3 requests < minSamples 10' }),
    obs({ workloads: [w(1, 4), w(2, 1)] }),
  );
  assert.equal(unsure.status.phase, 'Paused');
  assert.equal(weights(unsure), '1:75 2:25');
  const promoted = step(
    canary,
    unsure.status,
    obs({ workloads: [w(1, 4), w(2, 1)], requests: [request(1, 'promote')] }),
  );
  assert.equal(promoted.status.stepIndex, 3, 'promote skips the inconclusive analysis');
  const failFast = step(
    canary,
    withAnalysis(atAnalysis(), { phase: 'inconclusive', onInconclusive: 'fail' }),
    obs({ workloads: [w(1, 4), w(2, 1)] }),
  );
  assert.equal(failFast.status.phase, 'Aborted');
  const pass = step(
    canary,
    withAnalysis(atAnalysis(), { phase: 'inconclusive', onInconclusive: 'pass' }),
    obs({ workloads: [w(1, 4), w(2, 1)] }),
  );
  assert.equal(pass.status.stepIndex, 3);
});

test('canary: promote skips a pause; promote --full ends with the canary at full scale, then switches', () => {
  const b = step(canary, step(canary, healthy(1), obs()).status, obs({ workloads: [w(1, 4), w(2, 1)] }));
  const skipped = step(
    canary,
    b.status,
    obs({ now: T0 + 1_000, workloads: [w(1, 4), w(2, 1)], requests: [request(1, 'promote')] }),
  );
  assert.equal(skipped.status.stepIndex, 2, 'the 10 s pause was skipped');
  assert.equal(skipped.status.handledRequest, 1);
  const full = step(
    canary,
    skipped.status,
    obs({ now: T0 + 2_000, workloads: [w(1, 4), w(2, 1)], requests: [request(2, 'promote-full')] }),
  );
  assert.equal(full.status.stepIndex, 5);
  assert.equal(workloads(full), '1:4 2:4');
  assert.equal(weights(full), '1:75 2:25', 'traffic moves only once the canary can carry it');
  const done = step(canary, full.status, obs({ now: T0 + 3_000, workloads: [w(1, 4), w(2, 4)] }));
  assert.equal(done.status.phase, 'Healthy');
  assert.equal(done.status.stable, 2);
  assert.equal(weights(done), '2:100');
  assert.equal(workloads(done), '1:4 2:4', 'the previous revision stays warm for the scale-down delay');
  assert.equal(done.status.retiring[0]?.removeAt, new Date(T0 + 3_000 + 30_000).toISOString());
  const gone = step(canary, done.status, obs({ now: T0 + 34_000, workloads: [w(1, 4), w(2, 4)] }));
  assert.equal(workloads(gone), '2:4');
});

test('canary: a request is handled once; one for an older revision is ignored', () => {
  const s = step(canary, atAnalysis(), obs({ workloads: [w(1, 4), w(2, 1)], requests: [request(1, 'abort', 1)] }));
  assert.equal(s.status.phase, 'Progressing', 'abort for revision 1 does not stop revision 2');
  assert.equal(s.status.handledRequest, 1);
  const again = step(canary, s.status, obs({ workloads: [w(1, 4), w(2, 1)], requests: [request(1, 'abort')] }));
  assert.equal(again.status.phase, 'Progressing', 'request 1 was already handled');
});

test('abort by hand, then retry starts over from step 1 (no incident for a manual abort)', () => {
  const aborted = step(canary, atAnalysis(), obs({ workloads: [w(1, 4), w(2, 1)], requests: [request(1, 'abort')] }));
  assert.equal(aborted.status.phase, 'Aborted');
  assert.equal(aborted.actions.incident, undefined);
  assert.match(aborted.status.message, /aborted by bob/);
  const retried = step(canary, aborted.status, obs({ workloads: [w(1, 4), w(2, 1)], requests: [request(2, 'retry')] }));
  assert.equal(retried.status.phase, 'Progressing');
  assert.equal(retried.status.stepIndex, 1, 'step 1 (setWeight 25) done again at once: the replica is still warm');
  assert.deepEqual(retried.status.retiring, []);
  assert.equal(weights(retried), '1:75 2:25');
});

test('a crash-looping canary aborts automatically', () => {
  const s = step(canary, atAnalysis(), obs({ workloads: [w(1, 4), w(2, 0, 1, 'exited with code 1')] }));
  assert.equal(s.status.phase, 'Aborted');
  assert.match(s.status.abortReason ?? '', /crash-looping: exited with code 1/);
  assert.ok(s.actions.incident);
});

test('spec changed mid-rollout: the new revision restarts the rollout; the old canary leaves', () => {
  const s = step(canary, atAnalysis(), obs({ revision: 3, workloadRevision: 3, workloads: [w(1, 4), w(2, 1)] }));
  assert.equal(s.status.canary, 3);
  assert.equal(s.status.stepIndex, 0);
  assert.equal(s.status.analysis, undefined);
  assert.deepEqual(
    s.status.retiring.map((r) => r.revision),
    [2],
  );
  assert.equal(weights(s), '1:100 3:0');
});

test('rollback to the stable revision mid-rollout: traffic back at once, canary leaves', () => {
  const s = step(
    canary,
    atAnalysis(),
    obs({ revision: 3, workloadRevision: 1, rollback: true, workloads: [w(1, 4), w(2, 1)] }),
  );
  assert.equal(s.status.phase, 'Healthy');
  assert.equal(s.status.canary, undefined);
  assert.equal(weights(s), '1:100');
  assert.deepEqual(
    s.status.retiring.map((r) => r.revision),
    [2],
  );
});

test('rollback to a warm previous revision after a promotion switches in one step', () => {
  const promoted: RolloutStatus = {
    ...healthy(2, 2),
    retiring: [{ revision: 1, replicas: 4, removeAt: new Date(T0 + 30_000).toISOString() }],
  };
  const s = step(
    canary,
    promoted,
    obs({ revision: 3, workloadRevision: 1, rollback: true, workloads: [w(1, 4), w(2, 4)] }),
  );
  assert.equal(s.status.stable, 1);
  assert.equal(weights(s), '1:100', 'no canary steps for a rollback');
  assert.deepEqual(
    s.status.retiring.map((r) => r.revision),
    [2],
  );
});

test('rollback to a cold revision serves the current one until the target is ready', () => {
  const s = step(
    canary,
    healthy(2, 2),
    obs({ revision: 3, workloadRevision: 3, rollback: true, workloads: [w(2, 4), w(3, 1, 4)] }),
  );
  assert.equal(weights(s), '2:100 3:0');
  assert.match(s.status.message, /rolling back to revision 3: 1\/4 replicas ready; revision 2 serves until then/);
  const ready = step(
    canary,
    s.status,
    obs({ revision: 3, workloadRevision: 3, rollback: true, workloads: [w(2, 4), w(3, 4)] }),
  );
  assert.equal(weights(ready), '3:100');
});

test('control plane restarted mid-rollout: the stored status resumes exactly where it was', () => {
  const stored = JSON.parse(JSON.stringify(atAnalysis())) as RolloutStatus;
  const resumed = step(canary, stored, obs({ now: T0 + 10_500, workloads: [w(1, 4), w(2, 1)] }));
  assert.equal(resumed.status.stepIndex, 2);
  assert.equal(weights(resumed), '1:75 2:25');
  assert.deepEqual(resumed.actions.startAnalysis, [], 'the running analysis is not started twice');
});

test('first rollout with no stored status infers the stable revision from what runs', () => {
  const s = step(canary, undefined, obs({ workloads: [w(1, 4)] }));
  assert.equal(s.status.stable, 1);
  assert.equal(s.status.canary, 2);
  const first = step(canary, undefined, obs({ revision: 1, workloadRevision: 1, workloads: [] }));
  assert.equal(first.status.stable, undefined, 'nothing to compare with: a first deploy just starts');
  assert.equal(weights(first), '1:100');
});

test('background analysis guards every step and aborts on failure', () => {
  const guarded: StrategySpec = {
    type: 'canary',
    canary: { steps: [{ setWeight: 20 }, { pause: {} }], analysis: { template: 'default' } },
  };
  let s = step(guarded, healthy(1), obs());
  s = step(guarded, s.status, obs({ workloads: [w(1, 4), w(2, 1)] }));
  assert.equal(weights(s), '1:80 2:20');
  s = step(guarded, s.status, obs({ workloads: [w(1, 4), w(2, 1)] }));
  assert.deepEqual(s.actions.startAnalysis, [{ slot: 'backgroundAnalysis', template: 'default' }]);
  const failed = step(
    guarded,
    { ...s.status, backgroundAnalysis: { phase: 'failed', message: 'p99 0.9 > max 0.5' } },
    obs({ workloads: [w(1, 4), w(2, 1)] }),
  );
  assert.equal(failed.status.phase, 'Aborted');
  assert.match(failed.status.abortReason ?? '', /p99 0.9 > max 0.5/);
});

/**
 * The README's canary: a step analysis and a background guard, both inconclusive at 20% when no
 * traffic flows (issue 12, item 2: the guard used to take the promote for itself, and the step
 * analysis then held again, so no promote ever moved the weights).
 */
test('promote past an inconclusive analysis and guard: one step per request, --full to 100%, the guard still aborts', () => {
  const guarded: StrategySpec = {
    type: 'canary',
    canary: {
      steps: [
        { setWeight: 20 },
        { analysis: { template: 'default' } },
        { setWeight: 50 },
        { pause: {} },
        { setWeight: 100 },
      ],
      analysis: { template: 'success-rate' },
    },
  };
  const two = obs({ workloads: [w(1, 4), w(2, 2)] });
  let s = step(guarded, healthy(1), obs());
  s = step(guarded, s.status, obs({ workloads: [w(1, 4), w(2, 1)] }));
  s = step(guarded, s.status, obs({ workloads: [w(1, 4), w(2, 1)] }));
  assert.equal(s.status.analysis?.phase, 'running');
  assert.equal(s.status.backgroundAnalysis?.phase, 'running');
  const unsure = (run: AnalysisRunView) => ({
    ...run,
    phase: 'inconclusive' as const,
    message: 'too few requests, 0 < minSamples 10',
  });
  const paused: RolloutStatus = {
    ...s.status,
    analysis: unsure(s.status.analysis!),
    backgroundAnalysis: unsure(s.status.backgroundAnalysis!),
  };

  const rows: {
    name: string;
    requests: RolloutRequest[];
    stepIndex: number;
    weights: string;
    phase: string;
    guardRestarted: boolean;
  }[] = [
    {
      name: 'no request: stays paused at 20%',
      requests: [],
      stepIndex: 1,
      weights: '1:80 2:20',
      phase: 'Paused',
      guardRestarted: false,
    },
    {
      name: 'promote: past the analysis to 50%, then the untimed pause',
      requests: [request(1, 'promote')],
      stepIndex: 3,
      weights: '1:50 2:50',
      phase: 'Paused',
      guardRestarted: true,
    },
    {
      name: 'promote --full: every step skipped, 100% once the canary is at full scale',
      requests: [request(1, 'promote-full')],
      stepIndex: 5,
      weights: '1:80 2:20',
      phase: 'Progressing',
      guardRestarted: true,
    },
  ];
  for (const row of rows) {
    const r = step(guarded, paused, { ...two, requests: row.requests });
    assert.equal(r.status.stepIndex, row.stepIndex, row.name);
    assert.equal(weights(r), row.weights, row.name);
    assert.equal(r.status.phase, row.phase, row.name);
    assert.equal(
      r.actions.startAnalysis.some((a) => a.slot === 'backgroundAnalysis'),
      row.guardRestarted,
      `${row.name}: a fresh guard run watches what follows`,
    );
  }

  // Exactly once: the promote is handled in one step; the next step does not apply it again.
  const promoted = step(guarded, paused, { ...two, requests: [request(1, 'promote')] });
  const next = step(guarded, promoted.status, { ...two, now: T0 + 1_000, requests: [request(1, 'promote')] });
  assert.equal(next.status.stepIndex, 3, 'the handled request does not move the rollout again');
  assert.equal(next.status.phase, 'Paused');
  // Two promotes seen together are two steps: the second waits for the next step (not settled meanwhile).
  const both = step(guarded, paused, { ...two, requests: [request(1, 'promote'), request(2, 'promote')] });
  assert.equal(both.status.stepIndex, 3);
  assert.equal(both.status.handledRequest, 1);
  assert.equal(both.actions.settled, false, 'the second promote is still to handle');
  const second = step(guarded, both.status, { ...two, now: T0 + 1_000, requests: [request(2, 'promote')] });
  assert.equal(second.status.stepIndex, 4, 'past the pause: setWeight 100, scaling the canary first');
  assert.equal(workloads(second), '1:4 2:4');
  // The restarted guard still aborts on failure after the promote.
  const failed = step(
    guarded,
    { ...promoted.status, backgroundAnalysis: { phase: 'failed', message: 'success-rate 0.5 < min 0.99' } },
    { ...two, now: T0 + 2_000 },
  );
  assert.equal(failed.status.phase, 'Aborted');
  assert.equal(weights(failed), '1:100');
  // --full: the switch happens once the canary has all its replicas, the guard running meanwhile.
  const full = step(guarded, paused, { ...two, requests: [request(1, 'promote-full')] });
  assert.equal(workloads(full), '1:4 2:4');
  const done = step(guarded, full.status, obs({ now: T0 + 3_000, workloads: [w(1, 4), w(2, 4)] }));
  assert.equal(done.status.phase, 'Healthy');
  assert.equal(weights(done), '2:100');
});

test('rolling: surge 1, unavailable 0 never drops below the asked capacity', () => {
  const rolling: StrategySpec = { type: 'rolling', rolling: { maxSurge: 1, maxUnavailable: 0 } };
  let s = step(rolling, healthy(1), obs());
  assert.equal(workloads(s), '1:4 2:1');
  s = step(rolling, s.status, obs({ workloads: [w(1, 4), w(2, 0, 1)] }));
  assert.equal(workloads(s), '1:4 2:1', 'old keeps 4 until a new replica is ready');
  s = step(rolling, s.status, obs({ workloads: [w(1, 4), w(2, 1)] }));
  assert.equal(workloads(s), '1:3 2:2');
  s = step(rolling, s.status, obs({ workloads: [w(1, 3), w(2, 2)] }));
  assert.equal(workloads(s), '1:2 2:3');
  assert.equal(weights(s), '1:2 2:3', 'traffic split by replicas');
  s = step(rolling, s.status, obs({ workloads: [w(1, 1), w(2, 4)] }));
  assert.equal(s.status.phase, 'Healthy');
  assert.equal(s.status.stable, 2);
  assert.equal(weights(s), '2:100');
});

test('rolling: maxUnavailable lets the old shrink first when there is no surge', () => {
  const s = step({ type: 'rolling', rolling: { maxSurge: 0, maxUnavailable: '25%' } }, healthy(1), obs());
  assert.equal(workloads(s), '1:3 2:1');
});

test('recreate: the old revision goes at once', () => {
  const s = step({ type: 'recreate' }, healthy(1), obs());
  assert.equal(workloads(s), '2:4');
  assert.equal(weights(s), '2:100');
});

test('blue-green: preview until promoted, then an instant switch with the old kept warm', () => {
  const bg: StrategySpec = { type: 'blue-green', blueGreen: { scaleDownDelaySeconds: 60 } };
  let s = step(bg, healthy(1), obs());
  assert.equal(workloads(s), '1:4 2:4');
  assert.equal(s.status.traffic.preview, 2);
  assert.equal(weights(s), '1:100 2:0');
  s = step(bg, s.status, obs({ workloads: [w(1, 4), w(2, 4)] }));
  assert.equal(s.status.phase, 'Paused');
  s = step(bg, s.status, obs({ workloads: [w(1, 4), w(2, 4)], requests: [request(1, 'promote')] }));
  assert.equal(weights(s), '2:100');
  assert.equal(s.status.retiring[0]?.removeAt, new Date(T0 + 60_000).toISOString());
  const auto = step(
    { type: 'blue-green', blueGreen: { autoPromote: true } },
    healthy(1),
    obs({ workloads: [w(1, 4), w(2, 4)] }),
  );
  assert.equal(auto.status.stable, 2);
  const analysed = step(
    { type: 'blue-green', blueGreen: { analysis: { template: 'default' } } },
    healthy(1),
    obs({ workloads: [w(1, 4), w(2, 4)] }),
  );
  assert.deepEqual(analysed.actions.startAnalysis, [{ slot: 'analysis', template: 'default' }]);
  const pass = step(
    { type: 'blue-green', blueGreen: { analysis: { template: 'default' } } },
    { ...analysed.status, analysis: { phase: 'successful' } },
    obs({ workloads: [w(1, 4), w(2, 4)] }),
  );
  assert.equal(pass.status.stable, 2);
});

test('shadow: mirror to the new revision; guards abort on disagreement; promote switches', () => {
  const sh: StrategySpec = { type: 'shadow', shadow: { percent: 50, minAgreementRate: 0.95, minCompared: 10 } };
  const s = step(sh, healthy(1), obs({ workloads: [w(1, 4), w(2, 4)] }));
  assert.deepEqual(s.status.traffic.mirror, { revision: 2, percent: 50, tolerance: 1e-6 });
  assert.equal(weights(s), '1:100 2:0');
  assert.equal(s.status.phase, 'Paused');
  const few = step(
    sh,
    s.status,
    obs({ workloads: [w(1, 4), w(2, 4)], shadow: { mirrored: 5, compared: 5, agreementRate: 0 } }),
  );
  assert.equal(few.status.phase, 'Paused', 'below minCompared the guard waits');
  const bad = step(
    sh,
    s.status,
    obs({ workloads: [w(1, 4), w(2, 4)], shadow: { mirrored: 20, compared: 20, agreementRate: 0.5 } }),
  );
  assert.equal(bad.status.phase, 'Aborted');
  assert.match(bad.status.abortReason ?? '', /agreement 0.5 is below the minimum 0.95/);
  const promoted = step(sh, s.status, obs({ workloads: [w(1, 4), w(2, 4)], requests: [request(1, 'promote')] }));
  assert.equal(weights(promoted), '2:100');
});

test('A/B: weighted split with a header match and a sticky key until promoted or aborted', () => {
  const ab: StrategySpec = {
    type: 'ab',
    ab: { weight: 30, match: { header: 'x-variant', value: 'b' }, sticky: { cookie: 'uid' } },
  };
  const s = step(ab, healthy(1), obs({ workloads: [w(1, 4), w(2, 4)] }));
  assert.equal(weights(s), '1:70 2:30');
  assert.deepEqual(s.status.traffic.matches, [{ header: { name: 'x-variant', value: 'b' }, revision: 2 }]);
  assert.deepEqual(s.status.traffic.sticky, { cookie: 'uid' });
  assert.equal(s.status.phase, 'Paused');
  const aborted = step(ab, s.status, obs({ workloads: [w(1, 4), w(2, 4)], requests: [request(1, 'abort')] }));
  assert.equal(weights(aborted), '1:100');
  const promoted = step(ab, s.status, obs({ workloads: [w(1, 4), w(2, 4)], requests: [request(1, 'promote')] }));
  assert.equal(weights(promoted), '2:100');
});

test('a scale of the stable revision (same workload) changes nothing but the replica count', () => {
  const s = step(canary, healthy(1), obs({ revision: 2, workloadRevision: 1, replicas: 6, workloads: [w(1, 4)] }));
  assert.equal(s.status.phase, 'Healthy');
  assert.equal(workloads(s), '1:6');
  assert.deepEqual(s.actions.events, []);
});

test('nothing stable and nothing running (stopped or scaled to zero before the first rollout completed): the current revision starts again', () => {
  const zero: RolloutStatus = {
    revision: 1,
    strategy: 'rolling',
    phase: 'Healthy',
    stepIndex: 0,
    weight: 0,
    retiring: [],
    handledRequest: 0,
    traffic: { targets: [] },
    message: 'scaled to zero',
  };
  const s = step({ type: 'rolling' }, zero, obs({ revision: 1, workloadRevision: 1, replicas: 1, workloads: [] }));
  assert.equal(s.status.canary, 1);
  assert.equal(s.status.phase, 'Progressing');
  assert.equal(workloads(s), '1:1');
  assert.equal(weights(s), '1:100');
});
