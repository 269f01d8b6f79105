/**
 * What the autoscaler keeps in memory per deployment between evaluations, and how it starts: from
 * the stored Autoscaler record when there is one, so a restarted control plane continues from the
 * stored size (and its scale-down history is seeded with it: no scale-down sooner than
 * `scaleDownDelay` after a restart), the stored forecast and the stored usage samples.
 */
import type { AutoscalerState, Deployment, ScalingForecast } from '../../core/resources.js';
import { initialState, type RecommenderState } from '../../core/autoscaling/decide.js';
import { initialSize, resolveScaling } from '../../core/autoscaling/scaling-spec.js';
import type { RateHistory } from './rate-history.js';
import { SampleWindow } from './sample-window.js';

/** Usage samples kept per deployment for the vertical recommendation (about 3 h at one per 5 s per replica). */
export const MAX_USAGE_SAMPLES = 2_000;
/** Usage samples copied into the record (so a restart does not start from nothing). */
export const STORED_USAGE_SAMPLES = 500;

/** One deployment's autoscaling memory (see the module comment). */
export interface Tracked {
  /** The deployment's creation time: a deployment deleted and created again starts afresh. */
  created: string;
  startedAt: number;
  state: RecommenderState;
  record: AutoscalerState | undefined;
  samples: SampleWindow;
  history: RateHistory | undefined;
  /** The last fit; `desiredReplicas` is worked out when the record is written. */
  forecast: Omit<ScalingForecast, 'desiredReplicas'> | undefined;
  usage: { cpuCores: number; memoryBytes: number }[];
  lastUsageAt: number;
  lastRecommendAt: number;
  lastWriteAt: number;
  /** When the deployment was last evaluated: the loop evaluates each deployment at most once per interval. */
  lastEvaluatedAt: number | undefined;
  /** Set on activation: demand seen at a gateway since the last evaluation. */
  demand: boolean;
  /** When each replica was first seen ready (its CPU counts after a grace). */
  readySince: Map<string, number>;
  /** Metric queue: when a read last found messages waiting (the queue's "last request", for idling). */
  queueBusyAt?: number;
}

/** Fresh memory for `d` at `now`, continuing from its stored `record` if any. */
export function newTracked(d: Deployment, record: AutoscalerState | undefined, now: number): Tracked {
  const current = record?.desiredReplicas ?? initialSize(d.configuration);
  const tracked: Tracked = {
    created: d.metadata.created,
    startedAt: now,
    state: initialState(now, current),
    record,
    samples: new SampleWindow(resolveScaling(d.configuration.scaling).stableWindow * 1000),
    history: undefined,
    forecast: record?.forecast,
    usage: [...(record?.usage ?? [])],
    lastUsageAt: 0,
    lastRecommendAt: 0,
    lastWriteAt: 0,
    lastEvaluatedAt: undefined,
    demand: false,
    readySince: new Map(),
  };
  if (record?.panicUntil !== undefined) tracked.state = { ...tracked.state, panicUntil: Date.parse(record.panicUntil) };
  return tracked;
}

/** Rounds to three decimals, as figures are shown in the record. */
export function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
