/**
 * The resource controls of one replica slot, for whichever process fills it: the hard cpu quota
 * (a cgroup v2 the process is moved into right after spawn, see cpu-cgroup.ts) and the usage
 * sampler that is also the memory watchdog (resource-watch.ts). The two live differently: a
 * process is sampled from its start or adoption until it exits or is detached, while its cgroup
 * stays until the process and everything in its group is gone.
 */
import type { ReplicaUsage } from '../runtime.js';
import { existingCpuCgroup, placeInCpuCgroup, removeCpuCgroup } from './cpu-cgroup.js';
import type { ResourcePlan } from './resource-policy.js';
import { ResourceWatch } from './resource-watch.js';

/** What the replica is told. */
export interface ResourceHandlers {
  /** The process went above its memory limit (once per process), e.g. `memory 612Mi exceeded the limit 512Mi`. */
  readonly overLimit: (message: string) => void;
  /** A hard cpu quota could not be applied to a process. */
  readonly cpuQuotaFailed: (message: string) => void;
}

/** See the module comment. */
export class ReplicaResources {
  private watch: ResourceWatch | undefined;
  private cgroup: string | undefined;

  constructor(
    private readonly replica: string,
    private readonly plan: ResourcePlan,
    private readonly sampleMs: number,
    private readonly handlers: ResourceHandlers,
  ) {}

  /** Moves a just-spawned process into the replica's cpu cgroup, when the plan has a hard quota. */
  placeInCgroup(pid: number): void {
    const { cgroupDir, cpuLimitCores } = this.plan;
    if (cgroupDir === undefined || cpuLimitCores === undefined) return;
    try {
      this.cgroup = placeInCpuCgroup(cgroupDir, this.replica, pid, cpuLimitCores);
    } catch (err) {
      this.handlers.cpuQuotaFailed(`replica ${this.replica}: cpu quota not applied: ${(err as Error).message}`);
    }
  }

  /**
   * Links an adopted process back to the cgroup an earlier runtime placed it in, if it still
   * exists, so {@link release} removes it once the process is gone.
   */
  adoptCgroup(): void {
    const { cgroupDir, cpuLimitCores } = this.plan;
    if (cgroupDir === undefined || cpuLimitCores === undefined) return;
    this.cgroup = existingCpuCgroup(cgroupDir, this.replica);
  }

  /** Starts sampling the process tree led by `pid` (a started or adopted process). */
  startSampling(pid: number): void {
    this.watch = new ResourceWatch(
      this.replica,
      pid,
      this.sampleMs,
      this.plan.memoryLimit,
      this.handlers.overLimit,
    ).start();
  }

  /** Stops sampling; {@link usage} is cleared. */
  stopSampling(): void {
    this.watch?.stop();
    this.watch = undefined;
  }

  /** Stops sampling and removes the cgroup, once the process and its group are gone (swept). */
  release(): void {
    this.stopSampling();
    if (this.cgroup) removeCpuCgroup(this.cgroup);
    this.cgroup = undefined;
  }

  /** The latest CPU and memory sample of the process being sampled, if one was taken. */
  get usage(): ReplicaUsage | undefined {
    return this.watch?.usage;
  }
}
