/**
 * Rollout strategies as users write them (in `strategy` of a deployment document), their defaults
 * and their rules. Pure: no I/O. The rollout engine (`rollout/engine.ts`) interprets them.
 *
 * One sub-object per type, named after it, holds that type's settings; only the sub-object of the
 * chosen type may be present, so a setting never silently does nothing:
 *
 * @example
 *   { type: 'canary', canary: { steps: [{ setWeight: 20 }, { analysis: { template: 'default' } }, { setWeight: 50 }, { pause: { duration: '30s' } }] } }
 *   { type: 'blue-green', blueGreen: { autoPromote: false, scaleDownDelaySeconds: 30 } }
 *   { type: 'shadow', shadow: { percent: 100 } }
 *   { type: 'ab', ab: { weight: 50, sticky: { header: 'x-user-id' } } }
 */
import { allowOnly, fail, integer, numberIn as number, object } from './validation.js';

/** Strategy types a spec may name. */
export type StrategyType = 'recreate' | 'rolling' | 'blue-green' | 'canary' | 'shadow' | 'ab';

/** Strategy types, in the order the README documents them. */
export const STRATEGY_TYPES: readonly StrategyType[] = ['rolling', 'recreate', 'blue-green', 'canary', 'shadow', 'ab'];

/** A named analysis template and the arguments it is run with. */
export interface AnalysisRef {
  template: string;
  args?: Record<string, string | number>;
}

/** Replica counts as a number or a percentage of the desired replicas, e.g. `1` or `'25%'`. */
export type ReplicaAmount = number | string;

/** Rolling update: how far above the desired count, and below the ready count, an update may go. */
export interface RollingOptions {
  /** Extra replicas while updating; default `'25%'` (rounded up, so at least 1). */
  maxSurge?: ReplicaAmount;
  /** Replicas that may be unready while updating; default 0 (never below the asked capacity). */
  maxUnavailable?: ReplicaAmount;
}

/** Blue-green: the new revision runs beside the active one, reachable on a preview endpoint. */
export interface BlueGreenOptions {
  /** Switch as soon as the new revision is ready (and its analysis, if any, passed). Default false. */
  autoPromote?: boolean;
  /** Run on preview traffic before switching; a pass promotes, a failure aborts. */
  analysis?: AnalysisRef;
  /** How long the previous revision stays up after the switch, for an instant switch back. Default 30. */
  scaleDownDelaySeconds?: number;
}

/** One canary step. Exactly one of the keys. */
export type CanaryStep =
  | { setWeight: number }
  /** `{}` waits until promoted; a duration (`30`, `'30s'`, `'2m'`) waits that long. */
  | { pause: { duration?: number | string } }
  | { analysis: AnalysisRef };

/** Canary: traffic moves to the new revision in steps, checked by analyses. */
export interface CanaryOptions {
  steps: CanaryStep[];
  /** Runs from the first step to the end; a failure aborts at once. */
  analysis?: AnalysisRef;
  /** How long the previous revision stays up after full promotion. Default 30. */
  scaleDownDelaySeconds?: number;
}

/** Shadow: the new revision gets copies of live requests; callers only see the stable revision's answers. */
export interface ShadowOptions {
  /** Share of requests mirrored, 0–100; default 100. */
  percent?: number;
  /** Two numeric outputs agree when within this; default 1e-6. */
  tolerance?: number;
  /** Abort automatically when, after `minCompared` pairs, agreement falls below this (0–1). */
  minAgreementRate?: number;
  /** Abort automatically when the shadow's error ratio exceeds the stable's by more than this (0–1). */
  maxErrorRateDelta?: number;
  /** Pairs compared before the guards above apply; default 50. */
  minCompared?: number;
  /**
   * HTTP methods mirrored to the shadow (applications: only what is safe to send twice; default
   * `['GET', 'HEAD']`; models: their inference POSTs). Applications are compared on status and body.
   */
  methods?: string[];
}

/** A header or cookie whose value picks a variant (or keys a sticky assignment). */
export interface RequestKey {
  header?: string;
  cookie?: string;
}

/** A/B test: stable (A) and new revision (B) split by weight or by a request match. */
export interface AbOptions {
  /** Share of traffic for B, 0–100; default 50. */
  weight?: number;
  /** Requests whose header/cookie equals `value` go to B (before the weighted split). */
  match?: RequestKey & { value: string };
  /** One user stays on one variant: requests with the same key value get the same variant. */
  sticky?: RequestKey;
}

/** How a new revision replaces the current one. */
export interface StrategySpec {
  type: StrategyType;
  rolling?: RollingOptions;
  blueGreen?: BlueGreenOptions;
  canary?: CanaryOptions;
  shadow?: ShadowOptions;
  ab?: AbOptions;
}

/** Defaults the engine applies where a strategy leaves a setting out. */
export const STRATEGY_DEFAULTS = {
  maxSurge: '25%',
  maxUnavailable: 0,
  scaleDownDelaySeconds: 30,
  shadowPercent: 100,
  shadowTolerance: 1e-6,
  shadowMinCompared: 50,
  abWeight: 50,
} as const;

const SUB_OBJECT: Record<StrategyType, keyof StrategySpec | undefined> = {
  recreate: undefined,
  rolling: 'rolling',
  'blue-green': 'blueGreen',
  canary: 'canary',
  shadow: 'shadow',
  ab: 'ab',
};

/** Throws an {@link InvalidArgumentError} `strategy.<path>: <rule>` unless `value` is a valid strategy. */
export function validateStrategy(value: unknown): asserts value is StrategySpec {
  const s = object(value, 'strategy');
  if (!STRATEGY_TYPES.includes(s.type as StrategyType))
    fail('strategy.type', `must be one of ${STRATEGY_TYPES.join(', ')}`, s.type);
  const type = s.type as StrategyType;
  const own = SUB_OBJECT[type];
  allowOnlyOwn(s, ['type', ...(own ? [own] : [])], type);
  if (s.rolling !== undefined) rolling(s.rolling);
  if (s.blueGreen !== undefined) blueGreen(s.blueGreen);
  if (s.canary !== undefined) canary(s.canary);
  if (type === 'canary' && s.canary === undefined)
    fail('strategy.canary', 'is required for type canary (it holds the steps)');
  if (s.shadow !== undefined) shadow(s.shadow);
  if (s.ab !== undefined) ab(s.ab);
}

/** `amount` of `replicas` as a count: percentages round up for surge, down for unavailability. */
export function replicaAmount(amount: ReplicaAmount, replicas: number, round: 'up' | 'down'): number {
  if (typeof amount === 'number') return amount;
  const share = (Number(amount.slice(0, -1)) * replicas) / 100;
  return round === 'up' ? Math.ceil(share) : Math.floor(share);
}

/** Seconds in a duration written as a number of seconds or `'500ms'`, `'30s'`, `'2m'`, `'1h'`. */
export function durationSeconds(value: number | string): number {
  if (typeof value === 'number') return value;
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(value);
  if (m === null) return Number.NaN;
  const n = Number(m[1]);
  return m[2] === 'ms' ? n / 1000 : m[2] === 's' ? n : m[2] === 'm' ? n * 60 : n * 3600;
}

function typeOf(key: string): string | undefined {
  return Object.entries(SUB_OBJECT).find(([, v]) => v === key)?.[0];
}

function rolling(value: unknown): void {
  const r = object(value, 'strategy.rolling');
  allowOnly(r, 'strategy.rolling', ['maxSurge', 'maxUnavailable']);
  if (r.maxSurge !== undefined) amount(r.maxSurge, 'strategy.rolling.maxSurge');
  if (r.maxUnavailable !== undefined) amount(r.maxUnavailable, 'strategy.rolling.maxUnavailable');
  const zero = (v: unknown): boolean => v === 0 || v === '0%';
  if (zero(r.maxSurge ?? STRATEGY_DEFAULTS.maxSurge) && zero(r.maxUnavailable ?? STRATEGY_DEFAULTS.maxUnavailable)) {
    fail('strategy.rolling.maxSurge', 'maxSurge and maxUnavailable cannot both be 0 (the update could never start)');
  }
}

function blueGreen(value: unknown): void {
  const b = object(value, 'strategy.blueGreen');
  allowOnly(b, 'strategy.blueGreen', ['autoPromote', 'analysis', 'scaleDownDelaySeconds']);
  if (b.autoPromote !== undefined && typeof b.autoPromote !== 'boolean')
    fail('strategy.blueGreen.autoPromote', 'must be true or false', b.autoPromote);
  if (b.analysis !== undefined) analysisRef(b.analysis, 'strategy.blueGreen.analysis');
  if (b.scaleDownDelaySeconds !== undefined)
    number(b.scaleDownDelaySeconds, 'strategy.blueGreen.scaleDownDelaySeconds', 0, 86_400);
}

function canary(value: unknown): void {
  const c = object(value, 'strategy.canary');
  allowOnly(c, 'strategy.canary', ['steps', 'analysis', 'scaleDownDelaySeconds']);
  if (!Array.isArray(c.steps) || c.steps.length === 0 || c.steps.length > 50)
    fail('strategy.canary.steps', 'must be a list of 1 to 50 steps', c.steps);
  (c.steps as unknown[]).forEach((step, i) => canaryStep(step, `strategy.canary.steps[${i}]`));
  if (c.analysis !== undefined) analysisRef(c.analysis, 'strategy.canary.analysis');
  if (c.scaleDownDelaySeconds !== undefined)
    number(c.scaleDownDelaySeconds, 'strategy.canary.scaleDownDelaySeconds', 0, 86_400);
}

function canaryStep(value: unknown, field: string): void {
  const step = object(value, field);
  const keys = Object.keys(step);
  if (keys.length !== 1 || !['setWeight', 'pause', 'analysis'].includes(keys[0]!)) {
    fail(field, 'must have exactly one of setWeight, pause, analysis', step);
  }
  if (step.setWeight !== undefined) integer(step.setWeight, `${field}.setWeight`, 0, 100);
  if (step.pause !== undefined) {
    const pause = object(step.pause, `${field}.pause`);
    allowOnly(pause, `${field}.pause`, ['duration']);
    if (pause.duration !== undefined) {
      const seconds =
        typeof pause.duration === 'number' || typeof pause.duration === 'string'
          ? durationSeconds(pause.duration)
          : Number.NaN;
      if (!Number.isFinite(seconds) || seconds < 0 || seconds > 86_400 * 7) {
        fail(
          `${field}.pause.duration`,
          "must be seconds (a number) or a duration such as '30s', '2m', '1h', at most 7 days",
          pause.duration,
        );
      }
    }
  }
  if (step.analysis !== undefined) analysisRef(step.analysis, `${field}.analysis`);
}

function shadow(value: unknown): void {
  const s = object(value, 'strategy.shadow');
  allowOnly(s, 'strategy.shadow', ['percent', 'tolerance', 'minAgreementRate', 'maxErrorRateDelta', 'minCompared']);
  if (s.percent !== undefined) number(s.percent, 'strategy.shadow.percent', 0, 100);
  if (s.tolerance !== undefined) number(s.tolerance, 'strategy.shadow.tolerance', 0, Number.MAX_VALUE);
  if (s.minAgreementRate !== undefined) number(s.minAgreementRate, 'strategy.shadow.minAgreementRate', 0, 1);
  if (s.maxErrorRateDelta !== undefined) number(s.maxErrorRateDelta, 'strategy.shadow.maxErrorRateDelta', 0, 1);
  if (s.minCompared !== undefined) integer(s.minCompared, 'strategy.shadow.minCompared', 1, 1_000_000);
}

function ab(value: unknown): void {
  const a = object(value, 'strategy.ab');
  allowOnly(a, 'strategy.ab', ['weight', 'match', 'sticky']);
  if (a.weight !== undefined) number(a.weight, 'strategy.ab.weight', 0, 100);
  if (a.match !== undefined) {
    const m = object(a.match, 'strategy.ab.match');
    allowOnly(m, 'strategy.ab.match', ['header', 'cookie', 'value']);
    requestKey(m, 'strategy.ab.match');
    if (typeof m.value !== 'string' || m.value === '')
      fail('strategy.ab.match.value', 'must be a non-empty string', m.value);
  }
  if (a.sticky !== undefined) {
    const s = object(a.sticky, 'strategy.ab.sticky');
    allowOnly(s, 'strategy.ab.sticky', ['header', 'cookie']);
    requestKey(s, 'strategy.ab.sticky');
  }
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

function requestKey(k: Record<string, unknown>, field: string): void {
  if ((k.header === undefined) === (k.cookie === undefined)) fail(field, 'must have exactly one of header and cookie');
  const name = k.header ?? k.cookie;
  if (typeof name !== 'string' || !TOKEN.test(name))
    fail(
      `${field}.${k.header !== undefined ? 'header' : 'cookie'}`,
      'must be a header or cookie name (letters, digits, -, _ …)',
      name,
    );
}

function analysisRef(value: unknown, field: string): void {
  const a = object(value, field);
  allowOnly(a, field, ['template', 'args']);
  if (typeof a.template !== 'string' || !/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(a.template)) {
    fail(`${field}.template`, 'must name an analysis template (a DNS label)', a.template);
  }
  if (a.args !== undefined) {
    for (const [k, v] of Object.entries(object(a.args, `${field}.args`))) {
      if (typeof v !== 'string' && !(typeof v === 'number' && Number.isFinite(v)))
        fail(`${field}.args.${k}`, 'must be a string or a number', v);
    }
  }
}

function amount(value: unknown, field: string): void {
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 100) return;
  if (typeof value === 'string' && /^\d{1,3}%$/.test(value) && Number(value.slice(0, -1)) <= 100) return;
  fail(field, "must be a replica count from 0 to 100 or a percentage such as '25%'", value);
}

/** `allowOnly` with a better reason for a sub-object that belongs to another strategy type. */
function allowOnlyOwn(value: Record<string, unknown>, keys: readonly string[], type: StrategyType): void {
  for (const key of Object.keys(value)) {
    const owner = typeOf(key);
    if (!keys.includes(key) && owner !== undefined)
      fail(`strategy.${key}`, `belongs to strategy type ${owner}, not ${type}`);
  }
  allowOnly(value, 'strategy', keys);
}
