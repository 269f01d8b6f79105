import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  decide,
  initialState,
  type RecommenderState,
  type ScalingDecision,
  type ScalingObservation,
  type ScalingReason,
} from '../src/core/autoscaling/decide.js';
import { resolveScaling } from '../src/core/autoscaling/scaling-spec.js';
import type { ScalingSpec } from '../src/core/resources.js';

const NOW = Date.parse('2024-03-13T12:00:00Z');
const s = (seconds: number): number => NOW + seconds * 1000;
const spec: ScalingSpec = { min: 1, max: 10, targetCPU: 80, targetMemory: 80 };
const toZero: ScalingSpec = { ...spec, min: 0 };

interface Row {
  name: string;
  spec?: ScalingSpec;
  bounds?: { min: number; max: number; schedule?: string };
  obs: Partial<ScalingObservation> & { current: number };
  state?: RecommenderState;
  desired: number;
  rule: ScalingReason['rule'];
  message: string | RegExp;
  check?: (d: ScalingDecision) => void;
}

/** A busy, steady deployment: requests up to now, started long ago. */
const observe = (o: Row['obs']): ScalingObservation => ({
  now: NOW,
  ready: o.current,
  startedAt: s(-3600),
  lastRequestAt: NOW,
  held: 0,
  ...o,
});

const rows: Row[] = [
  {
    name: 'stable: scales up to ceil(stable / target)',
    obs: { current: 3, stable: 42.6, panic: 45 },
    desired: 5,
    rule: 'stable',
    message: 'in-flight requests 42.6 over the 60 s stable window / target 10 per replica = 5 replicas: 3 → 5 replicas',
    check: (d) =>
      assert.deepEqual(
        {
          value: d.reason.value,
          target: d.reason.target,
          windowSeconds: d.reason.windowSeconds,
          metric: d.reason.metric,
        },
        { value: 42.6, target: 10, windowSeconds: 60, metric: 'concurrency' },
      ),
  },
  {
    name: 'stable: float noise does not add a replica',
    obs: { current: 3, stable: 30.000000001 },
    desired: 3,
    rule: 'stable',
    message: /= 3 replicas: stays at 3 replicas$/,
  },
  {
    name: 'panic: entered when the panic window wants ≥ 2× the ready replicas and more than now',
    obs: { current: 1, stable: 12, panic: 42.6 },
    desired: 5,
    rule: 'panic',
    message:
      'in-flight requests 42.6 over the 3 s panic window / target 10 per replica = 5 replicas, at least 2× the 1 ready replica: panic mode: 1 → 5 replicas',
    check: (d) => {
      assert.equal(d.state.panicUntil, s(60), 'lasts a stable window');
      assert.equal(d.reason.windowSeconds, 3);
    },
  },
  {
    name: 'panic: not entered below the threshold (7 < 2 × 4 ready)',
    obs: { current: 4, stable: 50, panic: 70 },
    desired: 5,
    rule: 'stable',
    message: /^in-flight requests 50 over the 60 s stable window .*: 4 → 5 replicas$/,
    check: (d) => assert.equal(d.state.panicUntil, undefined),
  },
  {
    name: 'panic: not entered when it would not add replicas',
    obs: { current: 5, ready: 2, stable: 50, panic: 50 },
    desired: 5,
    rule: 'stable',
    message: /stays at 5 replicas$/,
  },
  {
    name: 'panic: the threshold counts at least one ready replica',
    obs: { current: 1, ready: 0, stable: 5, panic: 25 },
    desired: 3,
    rule: 'panic',
    message: /at least 2× the 0 ready replicas: panic mode: 1 → 3 replicas$/,
  },
  {
    name: 'panic: renewed while the burst lasts',
    obs: { current: 5, ready: 2, stable: 40, panic: 90 },
    state: { panicUntil: s(10), history: [] },
    desired: 9,
    rule: 'panic',
    message: /panic mode: 5 → 9 replicas$/,
    check: (d) => assert.equal(d.state.panicUntil, s(60)),
  },
  {
    name: 'panic: never scales down until a stable window after the last burst',
    obs: { current: 5, stable: 20, panic: 10 },
    state: { panicUntil: s(30), history: [] },
    desired: 5,
    rule: 'panic',
    message:
      'in-flight requests 10 over the 3 s panic window / target 10 per replica = 1 replica, panic mode until 60 s after the last burst, never scaling down: stays at 5 replicas',
    check: (d) => assert.equal(d.state.panicUntil, s(30), 'not renewed'),
  },
  {
    name: 'panic: ends at panicUntil, then stabilization holds the panic size',
    obs: { current: 5, stable: 20, panic: 10 },
    state: { panicUntil: NOW, history: [{ time: s(-100), desired: 5 }] },
    desired: 5,
    rule: 'stable',
    message:
      'in-flight requests 20 over the 60 s stable window / target 10 per replica = 2 replicas, held at 5 (the highest recommendation of the last 300 s scale-down delay): stays at 5 replicas',
    check: (d) => assert.equal('panicUntil' in d.state, false),
  },
  {
    name: 'stabilization: down to the highest recommendation of the last 300 s',
    obs: { current: 5, stable: 20 },
    state: {
      history: [
        { time: s(-301), desired: 5 },
        { time: s(-200), desired: 4 },
        { time: s(-100), desired: 3 },
      ],
    },
    desired: 4,
    rule: 'stable',
    message:
      /= 2 replicas, held at 4 \(the highest recommendation of the last 300 s scale-down delay\): 5 → 4 replicas$/,
    check: (d) =>
      assert.deepEqual(
        d.state.history,
        [
          { time: s(-200), desired: 4 },
          { time: s(-100), desired: 3 },
          { time: NOW, desired: 2 },
        ],
        'pruned, and the raw recommendation recorded',
      ),
  },
  {
    name: 'stabilization: all down once the delay passed',
    obs: { current: 5, stable: 20 },
    state: { history: [{ time: s(-300), desired: 5 }] },
    desired: 2,
    rule: 'stable',
    message: /= 2 replicas: 5 → 2 replicas$/,
  },
  {
    name: 'stabilization: going up is immediate',
    obs: { current: 2, stable: 61 },
    state: { history: [{ time: s(-10), desired: 2 }] },
    desired: 7,
    rule: 'stable',
    message: /: 2 → 7 replicas$/,
  },
  {
    name: 'stabilization: a delay of 0 scales down at once',
    spec: { ...spec, scaleDownDelay: 0 },
    obs: { current: 5, stable: 20 },
    state: { history: [{ time: s(-1), desired: 5 }] },
    desired: 2,
    rule: 'stable',
    message: /: 5 → 2 replicas$/,
  },
  {
    name: 'no data: keeps the current size',
    obs: { current: 3 },
    state: { panicUntil: s(5), history: [] },
    desired: 3,
    rule: 'unchanged',
    message: 'no in-flight requests data over the 60 s stable window yet: stays at 3 replicas',
    check: (d) => assert.equal(d.state.panicUntil, s(5), 'panic mode is kept'),
  },
  {
    name: 'no data: the bounds still hold',
    bounds: { min: 4, max: 10, schedule: 'business-hours' },
    obs: { current: 3 },
    desired: 4,
    rule: 'bounds',
    message: /yet, raised to the minimum 4 of schedule "business-hours": 3 → 4 replicas$/,
  },
  {
    name: 'idle: to zero after idleTimeout without requests, skipping stabilization',
    spec: toZero,
    obs: { current: 2, stable: 0, lastRequestAt: s(-301) },
    state: { panicUntil: s(10), history: [{ time: s(-5), desired: 2 }] },
    desired: 0,
    rule: 'idle',
    message: 'no requests for 301 s (idle timeout 300 s): 2 → 0 replicas',
    check: (d) => assert.equal(d.state.panicUntil, undefined, 'panic ends'),
  },
  {
    name: 'idle: counts from startedAt when no request was seen',
    spec: toZero,
    obs: { current: 1, stable: 0, lastRequestAt: undefined, startedAt: s(-299) },
    desired: 1,
    rule: 'stable',
    message: /= 0 replicas, kept at 1 until idle for 300 s: stays at 1 replica$/,
  },
  {
    name: 'idle: from startedAt once the timeout passed',
    spec: toZero,
    obs: { current: 1, lastRequestAt: undefined, startedAt: s(-300) },
    desired: 0,
    rule: 'idle',
    message: 'no requests for 300 s (idle timeout 300 s): 1 → 0 replicas',
  },
  {
    name: 'idle: not while requests are held',
    spec: toZero,
    obs: { current: 1, stable: 0, lastRequestAt: s(-400), held: 2 },
    desired: 1,
    rule: 'stable',
    message: /kept at 1 until idle/,
  },
  {
    name: 'idle: a custom idle timeout',
    spec: { ...toZero, idleTimeout: 30 },
    obs: { current: 1, stable: 0, lastRequestAt: s(-31) },
    desired: 0,
    rule: 'idle',
    message: 'no requests for 31 s (idle timeout 30 s): 1 → 0 replicas',
  },
  {
    name: 'idle: not with min above 0',
    obs: { current: 1, stable: 0, lastRequestAt: s(-4000) },
    desired: 1,
    rule: 'bounds',
    message: /= 0 replicas, raised to the minimum 1: stays at 1 replica$/,
  },
  {
    name: 'zero: stays at zero without demand',
    spec: toZero,
    obs: { current: 0, lastRequestAt: s(-400) },
    state: {
      history: [
        { time: s(-60), desired: 0 },
        { time: s(-1), desired: 0 },
      ],
    },
    desired: 0,
    rule: 'idle',
    message: 'no requests held or seen since scaling to zero: stays at 0 replicas',
  },
  {
    name: 'activation: held requests wake a deployment at zero',
    spec: toZero,
    obs: { current: 0, ready: 0, lastRequestAt: s(-400), held: 3 },
    state: { history: [{ time: s(-1), desired: 0 }] },
    desired: 1,
    rule: 'activation',
    message: 'activation: 3 requests held at the gateways while at zero: 0 → 1 replica',
    check: (d) => assert.equal(d.reason.value, 3),
  },
  {
    name: 'activation: many held requests need more than one replica',
    spec: toZero,
    obs: { current: 0, ready: 0, held: 25, lastRequestAt: NOW },
    state: { history: [{ time: s(-1), desired: 0 }] },
    desired: 3,
    rule: 'activation',
    message:
      'activation: 25 requests held at the gateways while at zero = 3 replicas at target 10 per replica: 0 → 3 replicas',
  },
  {
    name: 'activation: a request after going to zero',
    spec: toZero,
    obs: { current: 0, ready: 0, lastRequestAt: s(-1) },
    state: {
      history: [
        { time: s(-120), desired: 1 },
        { time: s(-60), desired: 0 },
        { time: s(-30), desired: 0 },
      ],
    },
    desired: 1,
    rule: 'activation',
    message: 'activation: a request arrived after scaling to zero: 0 → 1 replica',
  },
  {
    name: 'activation: not for a request from before going to zero',
    spec: toZero,
    obs: { current: 0, ready: 0, lastRequestAt: s(-61) },
    state: {
      history: [
        { time: s(-120), desired: 1 },
        { time: s(-60), desired: 0 },
      ],
    },
    desired: 0,
    rule: 'idle',
    message: /stays at 0 replicas$/,
  },
  {
    name: 'activation: capped by a schedule max of 0',
    bounds: { min: 0, max: 0, schedule: 'nights-off' },
    spec: toZero,
    obs: { current: 0, ready: 0, held: 1 },
    desired: 0,
    rule: 'bounds',
    message:
      'activation: 1 request held at the gateways while at zero, capped at the maximum 0 of schedule "nights-off": stays at 0 replicas',
  },
  {
    name: 'bounds: a schedule min lifts the size',
    bounds: { min: 3, max: 10, schedule: 'business-hours' },
    obs: { current: 1, stable: 5 },
    desired: 3,
    rule: 'bounds',
    message:
      'in-flight requests 5 over the 60 s stable window / target 10 per replica = 1 replica, raised to the minimum 3 of schedule "business-hours": 1 → 3 replicas',
  },
  {
    name: 'bounds: the spec max caps the size',
    bounds: { min: 1, max: 4 },
    obs: { current: 2, stable: 100 },
    desired: 4,
    rule: 'bounds',
    message: /= 10 replicas, capped at the maximum 4: 2 → 4 replicas$/,
  },
  {
    name: 'bounds: a schedule max cuts below stabilization at once',
    bounds: { min: 1, max: 2, schedule: 'nights' },
    obs: { current: 5, stable: 40 },
    state: { history: [{ time: s(-10), desired: 5 }] },
    desired: 2,
    rule: 'bounds',
    message: /held at 5 .*, capped at the maximum 2 of schedule "nights": 5 → 2 replicas$/,
  },
  {
    name: 'forecast: pre-scales above the current demand',
    spec: { ...spec, predictive: { enabled: true } },
    obs: { current: 2, stable: 20, forecast: 55 },
    desired: 6,
    rule: 'forecast',
    message:
      'in-flight requests forecast at 55 in 120 s / target 10 per replica = 6 replicas, above the 2 needed now: 2 → 6 replicas',
    check: (d) => assert.deepEqual([d.reason.value, d.reason.windowSeconds], [55, 120]),
  },
  {
    name: 'forecast: ignored when lower than the demand',
    obs: { current: 2, stable: 40, forecast: 10 },
    desired: 4,
    rule: 'stable',
    message: /stable window .*: 2 → 4 replicas$/,
  },
  {
    name: 'forecast: never wakes a deployment at zero',
    spec: toZero,
    obs: { current: 0, ready: 0, forecast: 100, lastRequestAt: s(-900) },
    state: { history: [{ time: s(-1), desired: 0 }] },
    desired: 0,
    rule: 'idle',
    message: /stays at 0 replicas$/,
  },
  {
    name: 'metric rps: named in the message with its default target 50',
    spec: { ...spec, metric: 'rps' },
    obs: { current: 1, stable: 120 },
    desired: 3,
    rule: 'stable',
    message: 'requests/s 120 over the 60 s stable window / target 50 per replica = 3 replicas: 1 → 3 replicas',
  },
  {
    name: 'metric cpu: percent of request against targetCPU',
    spec: { ...spec, metric: 'cpu', targetCPU: 80 },
    obs: { current: 3, stable: 250 },
    desired: 4,
    rule: 'stable',
    message: 'CPU % of request 250 over the 60 s stable window / target 80 per replica = 4 replicas: 3 → 4 replicas',
  },
  {
    name: 'metric memory',
    spec: { ...spec, metric: 'memory', targetMemory: 50 },
    obs: { current: 3, stable: 100 },
    desired: 2,
    rule: 'stable',
    message: 'memory % of request 100 over the 60 s stable window / target 50 per replica = 2 replicas: 3 → 2 replicas',
  },
  {
    name: 'metric custom',
    spec: { ...spec, metric: 'custom', custom: { query: 'sum(queue_depth)', target: 4 } },
    obs: { current: 1, stable: 9.5 },
    desired: 3,
    rule: 'stable',
    message: 'custom metric 9.5 over the 60 s stable window / target 4 per replica = 3 replicas: 1 → 3 replicas',
  },
];

for (const row of rows) {
  test(`decide: ${row.name}`, () => {
    const scaling = resolveScaling(row.spec ?? spec);
    const obs = observe(row.obs);
    const state = row.state ?? initialState(s(-3600), obs.current);
    const frozen = structuredClone(state);
    const d = decide(scaling, row.bounds ?? { min: scaling.min, max: scaling.max }, obs, state);
    assert.equal(d.desired, row.desired, d.reason.message);
    assert.equal(d.reason.rule, row.rule, d.reason.message);
    if (typeof row.message === 'string') assert.equal(d.reason.message, row.message);
    else assert.match(d.reason.message, row.message);
    assert.deepEqual(state, frozen, 'the state passed in is not changed');
    assert.deepEqual(d.state.history.at(-1)?.time, NOW, 'the tick is recorded');
    row.check?.(d);
  });
}

test('decide: a restarted autoscaler does not scale down before scaleDownDelay', () => {
  const scaling = resolveScaling(spec);
  let state = initialState(NOW, 6);
  const sizes: number[] = [];
  for (let t = 0; t <= 310; t += 10) {
    const d = decide(
      scaling,
      { min: 1, max: 10 },
      observe({ now: s(t), current: 6, stable: 10, startedAt: NOW }),
      state,
    );
    state = d.state;
    sizes.push(d.desired);
  }
  assert.deepEqual(sizes.slice(0, 30), Array(30).fill(6), 'held for 300 s');
  assert.equal(sizes.at(-1), 1, 'then down');
});

test('decide: a restarted autoscaler leaves a deployment at zero alone until a request', () => {
  const scaling = resolveScaling(toZero);
  const state = initialState(NOW, 0);
  const quiet = decide(
    scaling,
    { min: 0, max: 10 },
    observe({ now: s(1), current: 0, ready: 0, lastRequestAt: undefined, startedAt: NOW }),
    state,
  );
  assert.equal(quiet.desired, 0, quiet.reason.message);
  const woken = decide(
    scaling,
    { min: 0, max: 10 },
    observe({ now: s(2), current: 0, ready: 0, lastRequestAt: s(1.5), startedAt: NOW }),
    quiet.state,
  );
  assert.deepEqual([woken.desired, woken.reason.rule], [1, 'activation']);
});

test('decide: a day in the life — burst, panic, calm, stabilization, idle, zero, activation', () => {
  const scaling = resolveScaling(toZero);
  const bounds = { min: 0, max: 10 };
  let state = initialState(NOW, 1);
  let current = 1;
  let lastRequestAt: number | undefined = NOW;
  const log: { t: number; desired: number; rule: string }[] = [];
  const tick = (t: number, o: Partial<ScalingObservation>): void => {
    if ((o.stable ?? 0) > 0 || (o.held ?? 0) > 0) lastRequestAt = s(t);
    const d = decide(
      scaling,
      bounds,
      observe({ now: s(t), current, ready: current, lastRequestAt, startedAt: NOW, ...o }),
      state,
    );
    state = d.state;
    if (d.desired !== current || log.at(-1)?.rule !== d.reason.rule)
      log.push({ t, desired: d.desired, rule: d.reason.rule });
    current = d.desired;
  };
  for (let t = 0; t < 10; t++) tick(t, { stable: 5, panic: 5 });
  for (let t = 10; t < 20; t++) tick(t, { stable: 20, panic: 60 }); // burst: 6 replicas' worth
  for (let t = 20; t < 90; t++) tick(t, { stable: 8, panic: 8 }); // calm again
  for (let t = 90; t < 800; t += 5) tick(t, { stable: 0, panic: 0 }); // no traffic
  tick(800, { held: 4 }); // a request at zero

  const at = (t: number) => [...log].reverse().find((e) => e.t <= t)!;
  assert.deepEqual(at(10), { t: 10, desired: 6, rule: 'panic' }, 'panic at the burst');
  assert.equal(at(75).desired, 6, 'no scale-down within a stable window of the burst');
  assert.equal(at(80).rule, 'stable', 'panic over a stable window after the burst');
  assert.equal(at(80).desired, 6, 'stabilization still holds the burst size');
  assert.equal(at(330).desired, 1, 'down to 1 after scaleDownDelay, kept until idle');
  const idle = log.find((e) => e.rule === 'idle')!;
  assert.equal(idle.desired, 0);
  assert.ok(
    idle.t >= 90 + 300 - 5 && idle.t <= 90 + 300 + 5,
    `to zero about idleTimeout after the last request (at ${idle.t} s)`,
  );
  assert.deepEqual(log.at(-1), { t: 800, desired: 1, rule: 'activation' });
});
