/**
 * What one supervised replica (`replica-process.ts`) needs from its workload and runtime, and the
 * small types its parts share (`replica-launch.ts` starts its processes).
 */
import type { ReplicaStatus, Workload } from '../runtime.js';
import type { ArtifactVerifier, DigestCheck } from './artifact-digest.js';
import type { BundleCache } from './bundle-cache.js';
import type { ResolvedLocalOptions } from './local-options.js';
import type { ResourcePlan } from './resource-policy.js';

/** What a replica needs from its workload. */
export interface ReplicaContext {
  readonly options: ResolvedLocalOptions;
  /** The workload directory (logs live under it). */
  readonly dir: string;
  readonly workload: () => Workload;
  readonly verifier: ArtifactVerifier;
  /** Where bundles are unpacked (once per digest) for command workloads to run inside. */
  readonly bundles: BundleCache;
  /** Told every artifact check result, for the workload's condition. */
  readonly artifactChecked: (check: DigestCheck) => void;
  /** Called after every change of state worth persisting or reporting. */
  readonly changed: () => void;
  /** How the workload's resource limits are applied. */
  readonly resources: ResourcePlan;
  /** Why every replica of the workload is held out of rotation now (a failing dependency), if it is. */
  readonly dependencyHold: () => string | undefined;
  /** Told when a hard cpu quota could not be applied to a replica. */
  readonly cpuQuotaFailed: (message: string) => void;
}

/** Why a process ended, as {@link ReplicaStatus.lastTermination} reports it. */
export type Termination = NonNullable<ReplicaStatus['lastTermination']>;
/** A kill this runtime decided on, remembered until the process has exited. */
export interface KillCause {
  readonly reason: 'LivenessFailed' | 'StartupTimeout' | 'OOMKilled';
  readonly message: string;
}
