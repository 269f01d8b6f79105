/**
 * The resources the control plane stores, as plain JSON-serialisable types. Every stored object
 * carries a `resourceVersion` that the store sets on each write and that callers send back on an
 * update to say "the version I read" (optimistic concurrency). Timestamps are ISO-8601 strings.
 *
 * Pure types and small pure helpers only: no I/O, no clock, no randomness.
 */

import type { RolloutRequest, RolloutStatus } from './rollout/rollout-types.js';
import type { StrategySpec, StrategyType } from './strategy.js';

export type { StrategySpec, StrategyType };

/** String labels, e.g. `{ team: 'risk', tier: 'gold' }`. */
export type Labels = Record<string, string>;

/** Every resource kind the store knows, as used in change-feed rows and errors. */
export const RESOURCE_KINDS = [
  'Environment',
  'Model',
  'ModelVersion',
  'Deployment',
  'Revision',
  'DeploymentEvent',
  'Incident',
  'Approval',
  'Feedback',
  'AnalysisTemplate',
  'Autoscaler',
] as const;
/** One of {@link RESOURCE_KINDS}. */
export type ResourceKind = (typeof RESOURCE_KINDS)[number];

/** Fields the store owns on every stored object. */
export interface StoredFields {
  /** Set by the store on every write; increases across the whole store. Send it back on update. */
  resourceVersion: number;
}

/** Where an environment's workloads run. */
export type RuntimeBinding = 'local' | 'kubernetes';

/** A deployment target: development, staging, production, dr, or custom. */
export interface Environment extends StoredFields {
  /** Unique name, e.g. `production`. */
  name: string;
  runtime: RuntimeBinding;
  policies: EnvironmentPolicies;
  labels: Labels;
}

/** Rules an environment enforces on changes made to it. */
export interface EnvironmentPolicies {
  /** A change to a deployment here waits for an approver. */
  requiresApproval: boolean;
}

/** A named model; its artifacts live in {@link ModelVersion}s. */
export interface Model extends StoredFields {
  /** Unique name, e.g. `readmission`. */
  name: string;
  description: string;
  labels: Labels;
}

/** One input or output tensor of a model, as in the Open Inference Protocol's metadata. */
export interface TensorSpec {
  name: string;
  /** Protocol datatype, e.g. `FP32`, `INT64`, `BYTES`. */
  datatype: string;
  /** Dimensions; `-1` is a dimension of any size (usually the batch). */
  shape: number[];
}

/** A content-addressed artifact; never changes once stored. */
export interface Artifact {
  /** `sha256:` followed by 64 lowercase hex digits. */
  digest: `sha256:${string}`;
  /** Size in bytes. */
  size: number;
  /** The file name it was uploaded as, e.g. `model.onnx`. */
  filename: string;
}

/** Where a model version came from. */
export interface ModelSource {
  /** e.g. a git remote URL. */
  repository?: string;
  /** e.g. a git commit hash. */
  commit?: string;
}

/** A semver version of a model with its immutable artifact and its signature. */
export interface ModelVersion extends StoredFields {
  /** The {@link Model}'s name. */
  model: string;
  /** Semantic version, e.g. `1.4.0`. */
  version: string;
  artifact: Artifact;
  signature: { inputs: TensorSpec[]; outputs: TensorSpec[] };
  labels: Labels;
  source?: ModelSource;
  createdAt: string;
}

/** What a deployment runs. `workflow` and `pipeline` from the original spec come later. */
export type DeploymentType = 'model' | 'application';
/** The deployment's coarse state, as in the original platform spec. */
export type DeploymentPhase = 'deploying' | 'running' | 'stopped' | 'failed' | 'rolling-back';

/** The model and version a deployment serves. */
export interface ModelReference {
  name: string;
  version: string;
}

/** How a deployment runs: the part of the spec users edit most. */
export interface DeploymentConfiguration {
  /** Container image, for `type: application` on Kubernetes. */
  image?: string;
  replicas: number;
  /** Per replica, Kubernetes quantities: `cpu: '500m'`, `memory: '512Mi'`, `gpu: 0`; optional limits. */
  resources: { cpu: string; memory: string; gpu: number; limits?: { cpu?: string; memory?: string } };
  /** Autoscaling: bounds, the metric and its target, windows, scale to zero, schedules, forecast. */
  scaling: ScalingSpec;
  /** HTTP probe; `interval` and `timeout` are in seconds. */
  healthCheck: HealthCheckSpec;
}

/** What the autoscaler scales on. Per replica: in-flight requests, requests/s, CPU % or memory % of the request; `custom` = a PromQL value. */
export type ScalingMetric = 'concurrency' | 'rps' | 'cpu' | 'memory' | 'custom';

/**
 * Autoscaling of a deployment. `min == max` means a fixed size (no autoscaler). All durations are
 * in seconds. `targetCPU` / `targetMemory` are percent of the requested cpu / memory, the HPA's
 * meaning, used when `metric` is `cpu` / `memory` (and by the Kubernetes runtime's HPA).
 */
export interface ScalingSpec {
  min: number;
  max: number;
  targetCPU: number;
  targetMemory: number;
  /** Default `concurrency`. */
  metric?: ScalingMetric;
  /** Per-replica target of `concurrency` (default 10) or `rps` (default 50). */
  target?: number;
  /** `metric: custom`: a PromQL query whose value is divided by `target` per replica. */
  custom?: { query: string; target: number };
  /** Averaging window of normal decisions (default 60). */
  stableWindow?: number;
  /** Short window that reacts to bursts (default 3). */
  panicWindow?: number;
  /** Enter panic mode when the panic window wants at least this multiple of the current replicas (default 2). */
  panicThreshold?: number;
  /** Scale down only to the highest recommendation of this trailing period (default 300). */
  scaleDownDelay?: number;
  /** With `min: 0`: seconds without requests before scaling to zero (default 300). */
  idleTimeout?: number;
  /** With `min: 0`: the gateway's hold queue while the first replica starts. */
  hold?: { queue: number; timeout: number };
  /** Time windows with other bounds, e.g. business hours; the first active one wins. */
  schedules?: ScalingSchedule[];
  /** Pre-scale from a forecast of the request rate. */
  predictive?: PredictiveScaling;
}

/** A cron-bounded window (5-field cron, `timezone` an IANA name, default UTC) with its own min/max. */
export interface ScalingSchedule {
  name: string;
  /** The window opens at each firing of `start` and closes at the next firing of `end`. */
  start: string;
  end: string;
  timezone?: string;
  min?: number;
  max?: number;
}

/** Holt-Winters forecast of requests/s over buckets of `bucket` seconds, with a season of `season` buckets. */
export interface PredictiveScaling {
  enabled: boolean;
  /** Seconds per history bucket (default 60). */
  bucket?: number;
  /** Buckets per season (default 1440: one day of minutes); 0 = no seasonality (Holt's linear trend). */
  season?: number;
  /** How far ahead to provision, seconds (default 120: longer than a replica takes to start). */
  horizon?: number;
}

/** Probing of a deployment's replicas (seconds) and what it depends on. */
export interface HealthCheckSpec {
  /** Readiness path (model servers: the Open Inference Protocol's ready endpoint, `protocol/oip-paths.ts`). */
  path: string;
  interval: number;
  timeout: number;
  retries: number;
  /** Liveness path; default the model server's live endpoint (`protocol/oip-paths.ts`; application deployments: `path`). */
  livenessPath?: string;
  /** Seconds a new replica has to pass its first readiness check before it is restarted (default 300). */
  startupTimeout?: number;
  /** External services the deployment needs; while one fails, it is not ready. */
  dependencies?: DependencyCheck[];
}

/** An HTTP (`http: URL`, GET passes on 2xx/3xx) or TCP (`tcp: 'host:port'`) dependency. */
export interface DependencyCheck {
  name: string;
  http?: string;
  tcp?: string;
  /** Seconds; default the health check's. */
  interval?: number;
  timeout?: number;
}

/** The desired state that a {@link Revision} snapshots: every change to it makes a new revision. */
export interface DeploymentSpec {
  type: DeploymentType;
  /** Required for `type: model`. */
  model?: ModelReference;
  configuration: DeploymentConfiguration;
  strategy: StrategySpec;
}

/** A Kubernetes-style condition: one observed aspect of the status. */
export interface Condition {
  /** e.g. `Available`, `Progressing`, `ApprovalPending`. */
  type: string;
  status: 'True' | 'False' | 'Unknown';
  /** CamelCase, machine-readable, e.g. `MinimumReplicasAvailable`. */
  reason: string;
  message: string;
  /** When `status` last changed (not when the condition was last written). */
  lastTransitionTime: string;
}

/** Observed state, written by controllers only. */
export interface DeploymentStatus {
  phase: DeploymentPhase;
  conditions: Condition[];
  message?: string;
  readyReplicas: number;
  /** The most recent end of a replica process not asked for (OOMKilled, LivenessFailed, StartupTimeout, Error…). */
  lastTermination?: { replica: string; reason: string; message: string; time: string };
  /** Replicas the deployment runs now: the spec's, or the autoscaler's decision (absent in older records). */
  desiredReplicas?: number;
  /** The revision number the controllers last acted on; `< revision` means work is pending. */
  observedRevision: number;
  /** Where the rollout of the current revision stands (written by the rollout engine). */
  rollout?: RolloutStatus;
  /**
   * What takes traffic now, which may differ from the spec's model: the stable revision alone, the
   * stable and the new one during a canary, the stable (old) one after an abort. Empty when nothing
   * serves; absent in records the controller has not written since this field came.
   */
  serving?: ServingRevision[];
}

/** One revision that takes traffic: its workload revision, its share, and the model version it runs. */
export interface ServingRevision {
  revision: number;
  /** Percent of the traffic (relative weights as the gateway routes them). */
  weight: number;
  model?: ModelReference;
}

/** URLs where a deployment is reached, filled in by the controllers. */
export interface DeploymentEndpoints {
  internal?: string;
  external?: string;
  monitoring?: string;
  logs?: string;
  /** Blue-green: the new revision before it is promoted. */
  preview?: string;
}

/** Bookkeeping in the shape the original platform spec used. */
export interface DeploymentMetadata {
  created: string;
  updated: string;
  deployedBy: string;
  project: string;
  labels: Labels;
}

/** A model (or application) running in one environment. */
export interface Deployment extends DeploymentSpec, StoredFields {
  /** Unique, stable identifier; the store's key. */
  id: string;
  /** Human name, e.g. `readmission`; unique within its environment by convention of the API. */
  name: string;
  /** The {@link Environment}'s name. */
  environment: string;
  /** The current revision's number (1, 2, 3 …). */
  revision: number;
  status: DeploymentStatus;
  endpoints: DeploymentEndpoints;
  metadata: DeploymentMetadata;
  /** Promote / abort / retry commands not yet acted on (the engine records the last one it handled). */
  rolloutRequests?: RolloutRequest[];
}

/** An immutable, numbered snapshot of a deployment's spec; rollback makes an old one current. */
export interface Revision extends StoredFields {
  /** The {@link Deployment}'s id. */
  deployment: string;
  /** 1, 2, 3 … per deployment. */
  number: number;
  spec: DeploymentSpec;
  createdAt: string;
  createdBy: string;
  /** Why it was made, e.g. `spec changed: configuration.replicas`, `rollback to 3`. */
  reason: string;
}

/** Something that happened to a deployment, for people reading its history. */
export interface DeploymentEvent extends StoredFields {
  /** The {@link Deployment}'s id. */
  deployment: string;
  /** Unique within the deployment; events list in `id` order, so make it sort by time. */
  id: string;
  time: string;
  type: 'Normal' | 'Warning';
  /** CamelCase, machine-readable, e.g. `ScaledUp`. */
  reason: string;
  message: string;
}

/** A rollout that went wrong and was stopped automatically (or a similar operational fact). */
export interface Incident extends StoredFields {
  /** Sorts by time: `<ISO time>-<random>`. */
  id: string;
  environment: string;
  /** The deployment's name and id. */
  deploymentName: string;
  deployment: string;
  /** The deployment revision being rolled out. */
  revision: number;
  time: string;
  /** CamelCase, e.g. `RolloutAborted`. */
  reason: string;
  /** What happened, with the analysis result. */
  message: string;
}

/** A change to an environment that requires approval, waiting for (or decided by) an approver. */
export interface Approval extends StoredFields {
  /** Sorts by time: `<ISO time>-<random>`. */
  id: string;
  environment: string;
  /** The deployment the change is for. */
  deploymentName: string;
  /** What is asked, e.g. `create`, `update`, `scale`, `rollback`, `promote`, `delete`. */
  action: string;
  /** The change itself, replayed when approved. */
  request: Record<string, unknown>;
  /** A readable summary of the change. */
  summary: string;
  requestedBy: string;
  requestedAt: string;
  reason?: string;
  state: 'pending' | 'approved' | 'rejected' | 'failed';
  decidedBy?: string;
  decidedAt?: string;
  comment?: string;
  /** After approval: the revision it made, or why applying it failed. */
  result?: string;
}

/** An outcome reported for one served request (A/B tests). */
export interface Feedback extends StoredFields {
  /** The deployment's id. */
  deployment: string;
  /** The `x-request-id` of the request the outcome is about. */
  requestId: string;
  /** The workload revision (variant) that answered it. */
  revision: number;
  /** 0/1 for conversions, or any number (e.g. revenue). */
  outcome: number;
  time: string;
  by: string;
}

/** A named analysis template (see `core/analysis`); its body is validated there. */
export interface AnalysisTemplateResource extends StoredFields {
  name: string;
  /** The template document as validated (name, description, args, metrics). */
  template: Record<string, unknown>;
  updatedAt: string;
  updatedBy: string;
}

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

/** Resource type by kind. */
export interface ResourceTypes {
  Environment: Environment;
  Model: Model;
  ModelVersion: ModelVersion;
  Deployment: Deployment;
  Revision: Revision;
  DeploymentEvent: DeploymentEvent;
  Incident: Incident;
  Approval: Approval;
  Feedback: Feedback;
  AnalysisTemplate: AnalysisTemplateResource;
  Autoscaler: AutoscalerState;
}

/** The stored object of kind `K`. */
export type Resource<K extends ResourceKind> = ResourceTypes[K];
/** What a caller passes to create: the object without the store-owned fields. */
export type NewResource<K extends ResourceKind> = Omit<ResourceTypes[K], keyof StoredFields>;

/** The part of a deployment that a revision snapshots (a deep copy). */
export function deploymentSpec(deployment: DeploymentSpec): DeploymentSpec {
  const { type, model, configuration, strategy } = deployment;
  return structuredClone(
    model === undefined ? { type, configuration, strategy } : { type, model, configuration, strategy },
  );
}

/**
 * Returns `conditions` with `next` set by type. `lastTransitionTime` moves to `now` only when the
 * status changes, so it keeps saying when the condition last flipped.
 *
 * @example
 *   status.conditions = setCondition(status.conditions, { type: 'Available', status: 'True', reason: 'Ready', message: '' }, now);
 */
export function setCondition(
  conditions: readonly Condition[],
  next: Omit<Condition, 'lastTransitionTime'>,
  now: string,
): Condition[] {
  const previous = conditions.find((c) => c.type === next.type);
  const lastTransitionTime = previous && previous.status === next.status ? previous.lastTransitionTime : now;
  const updated = { ...next, lastTransitionTime };
  return previous ? conditions.map((c) => (c === previous ? updated : c)) : [...conditions, updated];
}

/** True for `sha256:` followed by 64 lowercase hex digits. */
export function isSha256Digest(value: string): value is `sha256:${string}` {
  return /^sha256:[0-9a-f]{64}$/.test(value);
}
