/**
 * Deployments: a model (or application) running in one environment, its spec (which every change
 * snapshots into a new revision) and its observed status. Keyed by id, indexed by environment.
 */
import type { RolloutRequest, RolloutStatus } from '../rollout/rollout-types.js';
import type { StrategySpec } from '../strategy.js';
import type { Condition } from './condition.js';
import { defineKind, keyPart } from './define-kind.js';
import type { DeploymentConfiguration } from './deployment-configuration.js';
import type { Labels, StoredFields } from './stored.js';

/**
 * What a deployment runs: an ONNX model (`model`), any HTTP service started by a command or an
 * image (`application`), or a command that consumes work and listens on no port (`worker`).
 * `workflow` and `pipeline` from the original spec come later.
 */
export type DeploymentType = 'model' | 'application' | 'worker';
/** The deployment's coarse state, as in the original platform spec. */
export type DeploymentPhase = 'deploying' | 'running' | 'stopped' | 'failed' | 'rolling-back';

/** The model and version a deployment serves. */
export interface ModelReference {
  name: string;
  version: string;
}

/**
 * A pushed application bundle (`wharf app push NAME DIR --version V`): a content-addressed
 * tarball of local code that `application` and `worker` replicas run their command inside.
 */
export interface BundleReference {
  name: string;
  version: string;
}

/** The desired state that a {@link Revision} snapshots: every change to it makes a new revision. */
export interface DeploymentSpec {
  type: DeploymentType;
  /** Required for `type: model`. */
  model?: ModelReference;
  /** `application` / `worker`: the code the command runs in (local runtime; on Kubernetes with a base image). */
  bundle?: BundleReference;
  configuration: DeploymentConfiguration;
  strategy: StrategySpec;
}

/** The part of a deployment that a revision snapshots (a deep copy). */
export function deploymentSpec(deployment: DeploymentSpec): DeploymentSpec {
  const { type, model, bundle, configuration, strategy } = deployment;
  return structuredClone({
    type,
    ...(model === undefined ? {} : { model }),
    ...(bundle === undefined ? {} : { bundle }),
    configuration,
    strategy,
  });
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

/** Deployments in the store: keyed by id, indexed by environment. */
export const deploymentKind = defineKind<Deployment, string, { environment?: string }>()({
  kind: 'Deployment',
  collection: 'deployments',
  key: (id) => keyPart('id', id),
  idOfKey: (key) => key,
  id: (o) => o.id,
  index: (o) => ({ environment: o.environment, parent: null }),
  filter: (f) => (f.environment === undefined ? {} : { environment: f.environment }),
});
