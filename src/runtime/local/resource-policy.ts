/**
 * What the local runtime does with a workload's `resources`, and the `ResourcesEnforced`
 * condition that states it without overclaiming. Pure apart from what the caller passes in.
 *
 * - memory limit: enforced by the RSS watchdog (resource-watch.ts), OOMKilled when exceeded;
 * - cpu limit: a thread cap of max(1, ceil(cores)) — `serve-model --threads` for model servers,
 *   `UV_THREADPOOL_SIZE` for every replica — plus a hard `cpu.max` quota where a cgroup v2 with the
 *   cpu controller is writable (cpu-cgroup.ts);
 * - requests: recorded (they are what autoscaling percentages refer to), never enforced locally;
 * - gpu: carried to the replica as `WHARF_GPUS`; nothing is scheduled on a GPU locally.
 */
import { parseCpu, parseMemory } from '../../core/quantities.js';
import type { Condition, Workload } from '../runtime.js';
import type { CpuCgroupSupport } from './cpu-cgroup.js';
import type { MemoryLimit } from './resource-watch.js';

/** How the limits of one workload are applied. */
export interface ResourcePlan {
  readonly memoryLimit?: MemoryLimit;
  /** The cpu limit in cores, when set. */
  readonly cpuLimitCores?: number;
  /** Where to create the replica's cgroup for a hard cpu quota, when one can be. */
  readonly cgroupDir?: string;
  /** The `ResourcesEnforced` condition; undefined when the workload names no resources. */
  readonly condition?: Pick<Condition, 'status' | 'reason' | 'message'>;
}

/** The thread cap for a cpu limit: max(1, ceil(cores)). */
export function threadCap(cores: number): number {
  return Math.max(1, Math.ceil(cores - 1e-9));
}

/** Environment variables a replica gets from its resources (thread pool size, GPU count). */
export function resourceEnv(w: Workload): Record<string, string> {
  const env: Record<string, string> = {};
  const cpu = w.resources?.limits?.cpu;
  if (cpu !== undefined) env.UV_THREADPOOL_SIZE = String(threadCap(parseCpu(cpu)));
  if (w.resources?.gpu) env.WHARF_GPUS = String(w.resources.gpu);
  return env;
}

/** `serve-model` flags from the resources: the thread cap of a cpu limit. */
export function resourceServerArgs(w: Workload): string[] {
  const cpu = w.resources?.limits?.cpu;
  return w.model && cpu !== undefined ? ['--threads', String(threadCap(parseCpu(cpu)))] : [];
}

/** The plan for `w`, given whether replica cgroups can be created here. */
export function resourcePlan(w: Workload, cgroup: CpuCgroupSupport): ResourcePlan {
  const r = w.resources;
  if (!r) return {};
  const parts: string[] = [];
  let enforced = 0;
  let partial = 0;
  const memory = r.limits?.memory;
  const memoryLimit = memory !== undefined ? { bytes: parseMemory(memory), quantity: memory } : undefined;
  if (memory !== undefined) {
    parts.push(`memory limit ${memory} enforced by RSS watchdog`);
    enforced += 1;
  }
  const cpu = r.limits?.cpu;
  const cpuLimitCores = cpu !== undefined ? parseCpu(cpu) : undefined;
  let cgroupDir: string | undefined;
  if (cpu !== undefined) {
    const cap = threadCap(cpuLimitCores!);
    const how = w.model ? `a thread cap of ${cap}` : `UV_THREADPOOL_SIZE=${cap}`;
    if (cgroup.ok) {
      cgroupDir = cgroup.dir;
      parts.push(`cpu limit ${cpu} enforced by cgroup cpu.max and honoured by ${how}`);
      enforced += 1;
    } else {
      parts.push(`cpu limit ${cpu} honoured by ${how} (no writable cgroup: not a hard quota)`);
      partial += 1;
    }
  }
  const requests = [r.cpu && `cpu=${r.cpu}`, r.memory && `memory=${r.memory}`].filter(Boolean);
  if (requests.length > 0) parts.push(`requests recorded (${requests.join(', ')})`);
  if (r.gpu) {
    parts.push(`gpu ${r.gpu} carried (no GPU scheduling)`);
  }
  if (parts.length === 0) return {};
  const message = parts.join('; ');
  // True only when every limit is a hard one and nothing asked for (a GPU) is merely carried.
  const condition =
    enforced > 0 && partial === 0 && !r.gpu
      ? { status: 'True' as const, reason: 'LimitsEnforced', message }
      : { status: 'False' as const, reason: enforced + partial > 0 ? 'PartiallyEnforced' : 'NotEnforced', message };
  return { memoryLimit, cpuLimitCores, cgroupDir, condition };
}
