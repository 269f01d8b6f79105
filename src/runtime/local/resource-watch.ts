/**
 * The sampler of one replica process: every `intervalMs` it reads the memory and CPU time of the
 * process tree, keeps the latest {@link ReplicaUsage} for `Runtime.usage()`, and is the memory
 * watchdog: the first sample above the memory limit calls `onOverLimit` (the replica then SIGKILLs
 * its group and reports `OOMKilled`). A watchdog, not a cgroup: memory allocated faster than one
 * interval can overshoot the limit until the next sample.
 */
import { formatMemory } from '../../core/quantities.js';
import type { ReplicaUsage } from '../runtime.js';
import { clockTicksPerSecond, readTreeUsage } from './process-usage.js';

/** A memory limit as bytes plus the quantity it was written as (for messages). */
export interface MemoryLimit {
  readonly bytes: number;
  readonly quantity: string;
}

/** Samples one process tree until stopped. */
export class ResourceWatch {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private previous: { readonly ticks: number; readonly at: number } | undefined;
  private latest: ReplicaUsage | undefined;
  private overLimit = false;

  constructor(
    private readonly replica: string,
    private readonly leader: number,
    private readonly intervalMs: number,
    private readonly memoryLimit: MemoryLimit | undefined,
    /** Called once, with e.g. `memory 612Mi exceeded the limit 512Mi`. */
    private readonly onOverLimit: (message: string) => void,
  ) {}

  /** Takes the first sample now, then one every interval. */
  start(): this {
    this.tick();
    return this;
  }

  /** Stops sampling; {@link usage} is cleared (the process it described is gone). */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.latest = undefined;
  }

  /** The latest sample, once one was taken. */
  get usage(): ReplicaUsage | undefined {
    return this.latest;
  }

  private tick(): void {
    if (this.stopped) return;
    this.sample();
    this.timer = setTimeout(() => this.tick(), this.intervalMs);
  }

  private sample(): void {
    const reading = readTreeUsage(this.leader);
    if (reading.processes === 0) return;
    const at = performance.now();
    let cpuCores = 0;
    if (this.previous && at > this.previous.at) {
      const seconds = (at - this.previous.at) / 1000;
      cpuCores = Math.max(0, (reading.cpuTicks - this.previous.ticks) / clockTicksPerSecond() / seconds);
    }
    this.previous = { ticks: reading.cpuTicks, at };
    this.latest = { replica: this.replica, cpuCores, memoryBytes: reading.memoryBytes, time: Date.now() };
    const limit = this.memoryLimit;
    if (limit && !this.overLimit && reading.memoryBytes > limit.bytes) {
      this.overLimit = true;
      this.onOverLimit(`memory ${formatMemory(reading.memoryBytes)} exceeded the limit ${limit.quantity}`);
    }
  }
}
