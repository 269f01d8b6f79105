/**
 * The autoscaler's record of one deployment: what it decided and measured. Keyed by the deployment's
 * id, indexed by environment.
 */
import { defineKind, keyPart } from './define-kind.js';
import type { ScalingMetric } from './deployment-configuration.js';
import type { StoredFields } from './stored.js';

/** One change of a deployment's size by the autoscaler, with its reason. */
export interface ScalingDecisionRecord {
  time: string;
  from: number;
  to: number;
  /** Which rule decided: stable, panic, idle, activation, forecast, bounds. */
  rule: string;
  metric: ScalingMetric;
  value?: number;
  target: number;
  windowSeconds?: number;
  /** One readable sentence with the numbers. */
  message: string;
}

/** The forecast the autoscaler pre-scales from. */
export interface ScalingForecast {
  time: string;
  horizonSeconds: number;
  /** Requests/s expected at time + horizon. */
  requestRate: number;
  method: string;
  /** One-step-ahead error of the fitted model on the history. */
  error: { mape?: number; rmse: number; samples: number };
  /** Replicas the forecast alone asks for. */
  desiredReplicas: number;
}

/** CPU and memory suggestions from observed use (vertical recommendations). */
export interface VerticalRecommendationView {
  time: string;
  cpu: string;
  memory: string;
  memoryLimit: string;
  change: { cpu: 'raise' | 'lower' | 'keep'; memory: 'raise' | 'lower' | 'keep' };
  basis: string;
  samples: number;
}

/**
 * What the autoscaler decided and measured for one deployment; written by the autoscaler only and
 * read by the deployment reconciler (the replica count) and the API (`status.autoscaling`).
 * The spec keeps the bounds; this keeps the decision, so scaling makes no revisions.
 */
export interface AutoscalerState extends StoredFields {
  /** The deployment's id (the key). */
  deployment: string;
  environment: string;
  /** Replicas the deployment should run now, within its bounds. */
  desiredReplicas: number;
  lastDecision?: ScalingDecisionRecord;
  /** Panic mode lasts until then. */
  panicUntil?: string;
  /** The last time a request for the deployment was seen (idle detection for scale to zero). */
  lastRequestAt?: string;
  /** What was measured at the last write. */
  observed?: {
    time: string;
    metric: ScalingMetric;
    /** The metric summed over replicas, over the stable and the panic window. */
    stable?: number;
    panic?: number;
    target: number;
    requestRate: number;
    held: number;
  };
  /** The schedule whose bounds apply now. */
  schedule?: { name: string; min: number; max: number; until?: string };
  forecast?: ScalingForecast;
  /** Requests/s per bucket, oldest first, for the forecast (bounded to two seasons). */
  history?: { bucketSeconds: number; start: string; rates: number[] };
  recommendation?: VerticalRecommendationView;
  /** Recent per-replica usage samples behind the recommendation (bounded). */
  usage?: { cpuCores: number; memoryBytes: number }[];
  /** Why the autoscaler cannot act, e.g. a custom metric without a Prometheus source. */
  problem?: string;
}

/** Autoscaler records in the store: keyed by deployment id, indexed by environment. */
export const autoscalerKind = defineKind<AutoscalerState, string, { environment?: string }>()({
  kind: 'Autoscaler',
  collection: 'autoscalers',
  key: (id) => keyPart('deployment', id),
  idOfKey: (key) => key,
  id: (o) => o.deployment,
  index: (o) => ({ environment: o.environment, parent: null }),
  filter: (f) => (f.environment === undefined ? {} : { environment: f.environment }),
});
