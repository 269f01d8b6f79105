/**
 * What the autoscaler decided and measured for a deployment (size, last decision with its reason,
 * forecast and its error, CPU / memory recommendations), as the API shows it; and activation, the
 * call gateways make when they hold requests for a deployment scaled to zero.
 */
import { autoscaled, resolveScaling } from '../core/autoscaling/scaling-spec.js';
import { deploymentId } from '../core/deployment-identity.js';
import { unlessNotFound } from '../core/errors.js';
import type { AutoscalerState } from '../core/resources.js';
import type { Store } from '../store/store.js';
import type { DeploymentService } from './deployment-service.js';

/** Wakes the autoscaler for a deployment with held requests; false when it does not autoscale (or this replica is not the leader). */
export type Activate = (environment: string, name: string) => Promise<boolean>;

/** The record as the API shows it: the bulky series (history, usage samples) summarised unless asked for. */
export function autoscalingView(state: AutoscalerState | undefined, full: boolean): Record<string, unknown> | null {
  if (state === undefined) return null;
  if (full) return { ...state };
  const { history, usage, ...rest } = state;
  return {
    ...rest,
    ...(history === undefined
      ? {}
      : { history: { bucketSeconds: history.bucketSeconds, start: history.start, buckets: history.rates.length } }),
    ...(usage === undefined ? {} : { usageSamples: usage.length }),
  };
}

/** See the module comment. */
export class AutoscalingStatus {
  constructor(
    private readonly store: Store,
    private readonly deployments: DeploymentService,
    private readonly activateLeader?: Activate,
  ) {}

  /** The scaling spec with defaults, and the autoscaler's state (null before its first decision). */
  async status(name: string, environment: string, full: boolean) {
    const deployment = await this.deployments.get(name, environment);
    const state = await unlessNotFound(this.store.autoscalers.get(deploymentId(environment, name)));
    const scaling = deployment.configuration.scaling;
    return { autoscaled: autoscaled(scaling), scaling: resolveScaling(scaling), state: autoscalingView(state, full) };
  }

  /** Wakes the autoscaler for the deployment; `activated: false` when it does not autoscale here. */
  async activate(name: string, environment: string): Promise<{ activated: boolean }> {
    await this.deployments.get(name, environment);
    const activate = this.activateLeader;
    return { activated: activate === undefined ? false : await activate(environment, name) };
  }
}
