/**
 * The local engine behind {@link LocalRuntime} (`local-runtime.ts`): every replica is a child
 * process on this machine, one {@link WorkloadSupervisor} per workload, recorded on disk so that a
 * restarted control plane adopts the running replicas. Init-once and reject-after-close are the
 * lifecycle wrapper's (`../runtime-lifecycle.ts`): `init` locks the state directory and adopts;
 * no method here is called before it or after `close`.
 */
import { NotFoundError } from '../../core/errors.js';
import {
  type LogLine,
  type LogOptions,
  type ReplicaUsage,
  type RuntimeCapabilities,
  type Workload,
  selects,
  type WorkloadKey,
  workloadKeyString,
  type WorkloadSelector,
  type WorkloadStatus,
} from '../runtime.js';
import type { RuntimeEngine } from '../runtime-lifecycle.js';
import { join } from 'node:path';
import { ArtifactVerifier } from './artifact-digest.js';
import { BundleCache } from './bundle-cache.js';
import { ChangeNotifier } from './change-notifier.js';
import { cpuCgroupSupport } from './cpu-cgroup.js';
import { type LocalRuntimeOptions, type ResolvedLocalOptions, resolveLocalOptions } from './local-options.js';
import { RotationTracker } from './log-files.js';
import { followLogs, readLogs } from './log-reader.js';
import { readWorkloadRecords, workloadDir } from './replica-state.js';
import { StateLock } from './state-lock.js';
import { type RuntimeShared, WorkloadSupervisor } from './workload-supervisor.js';
import { validateWorkload } from './workload-spec.js';
import { KeyedSerial } from '../keyed-serial.js';

/** Runs workloads as supervised local processes. See the module comment. */
export class LocalEngine implements RuntimeEngine {
  readonly name = 'local';
  /**
   * Memory limits are enforced (RSS watchdog), cpu limits are a thread cap (a hard quota only with
   * a writable cgroup v2); each workload's `ResourcesEnforced` condition says which. No GPU scheduling.
   */
  readonly capabilities: RuntimeCapabilities;

  private readonly options: ResolvedLocalOptions;
  private readonly shared: RuntimeShared;
  private readonly workloads = new Map<string, WorkloadSupervisor>();
  private readonly notifier = new ChangeNotifier();
  /** Per-key queue: apply and remove of one key never interleave. */
  private readonly serial = new KeyedSerial();
  /** Held from `init` until `close`: while it is, the engine is running. */
  private lock: StateLock | undefined;
  private rotationTimer: NodeJS.Timeout | undefined;
  /** Problems found while restoring state (unreadable records), for the caller to log. */
  readonly restoreWarnings: string[] = [];

  constructor(options: LocalRuntimeOptions) {
    this.options = resolveLocalOptions(options);
    this.capabilities = {
      logs: true,
      followLogs: true,
      resourceLimits: true,
      gpu: false,
      usage: true,
      changeNotifications: true,
      unsupportedFields: {
        image: 'replicas run as local processes; a container image needs the kubernetes runtime',
        // With a resolver (wired to the secrets service by the server), values are read at each start.
        ...(options.resolveSecret === undefined
          ? { secretEnv: 'there is no secret store to read variables from' }
          : {}),
      },
    };
    const verifier = new ArtifactVerifier();
    this.shared = {
      options: this.options,
      verifier,
      bundles: new BundleCache(join(this.options.stateDir, 'bundles'), verifier),
      rotations: new RotationTracker(),
      cpuCgroup: options.cpuCgroup ?? cpuCgroupSupport(),
      announce: (key) => this.notifier.announce(key),
    };
  }

  /** Locks the state directory and takes over the replicas recorded there (see {@link WorkloadSupervisor.restore}). */
  init(): Promise<void> {
    return Promise.resolve().then(() => this.restore());
  }

  async apply(workload: Workload): Promise<void> {
    validateWorkload(workload);
    const id = workloadKeyString(workload.key);
    await this.serial.run(id, () => {
      const existing = this.workloads.get(id);
      if (existing) existing.apply(workload);
      else
        this.workloads.set(
          id,
          WorkloadSupervisor.create(this.shared, workloadDir(this.options.stateDir, workload.key), workload),
        );
    });
  }

  async observe(key: WorkloadKey): Promise<WorkloadStatus | undefined> {
    return this.workloads.get(workloadKeyString(key))?.status();
  }

  async list(selector: WorkloadSelector = {}): Promise<WorkloadStatus[]> {
    // Keys are in memory: filtering before building each status is all the narrowing needed.
    return [...this.workloads.values()].filter((w) => selects(selector, w.key)).map((w) => w.status());
  }

  async remove(key: WorkloadKey): Promise<void> {
    await this.removeKey(key);
  }

  private removeKey(key: WorkloadKey): Promise<void> {
    const id = workloadKeyString(key);
    return this.serial.run(id, async () => {
      const supervisor = this.workloads.get(id);
      if (!supervisor) return;
      await supervisor.remove();
      this.workloads.delete(id);
    });
  }

  /**
   * Lines of the workload's replicas: per replica, stdout then stderr, oldest first (`tail`
   * counts per replica and stream). Following ends when `signal` aborts or the workload is
   * removed. Throws NotFoundError for an unknown key or replica.
   */
  async *logs(key: WorkloadKey, options: LogOptions = {}): AsyncIterable<LogLine> {
    const id = workloadKeyString(key);
    const supervisor = this.workloads.get(id);
    const sources = supervisor?.logSources(options.replica);
    if (!supervisor || !sources) {
      throw new NotFoundError(supervisor ? `workload ${id} has no replica ${options.replica}` : `no workload ${id}`);
    }
    const read = { generations: this.options.logFiles, tail: options.tail, tracker: this.shared.rotations };
    if (!options.follow) {
      yield* readLogs(sources, read);
      return;
    }
    const current = (): ReturnType<WorkloadSupervisor['logSources']> =>
      this.workloads.get(id) === supervisor && this.lock !== undefined
        ? supervisor.logSources(options.replica)
        : undefined;
    yield* followLogs(current, { ...read, pollMs: this.options.logPollMs, signal: options.signal });
  }

  /** The latest sample (every `usageSampleMs`) of each running replica of `key`; [] when nothing runs. */
  async usage(key: WorkloadKey): Promise<ReplicaUsage[]> {
    return this.workloads.get(workloadKeyString(key))?.usage() ?? [];
  }

  /**
   * Calls `listener` with the key soon after a replica of a workload changed phase or endpoint, or
   * was added or removed (coalesced per key until the next event-loop turn). Returns the unsubscribe.
   */
  onChange(listener: (key: WorkloadKey) => void): () => void {
    return this.notifier.subscribe(listener);
  }

  /** Pids of the workload's running processes (local only: for tests and `wharf` diagnostics). */
  pids(key: WorkloadKey): number[] {
    return this.workloads.get(workloadKeyString(key))?.pids() ?? [];
  }

  /** Removes every workload: all replicas stopped gracefully, all state deleted. */
  async stopAll(): Promise<void> {
    await this.removeAll();
  }

  private async removeAll(): Promise<void> {
    await Promise.all([...this.workloads.values()].map((w) => this.removeKey(w.key)));
  }

  /**
   * Stops probing, restarting and rotating, and releases the state directory. Replicas are
   * stopped (as by {@link stopAll}) unless `keepReplicas`, in which case they keep running and
   * stay recorded for the next runtime on this state directory to adopt. Calls already under way
   * finish first.
   */
  async close(options: { keepReplicas?: boolean } = {}): Promise<void> {
    const lock = this.lock;
    this.lock = undefined; // stops log rotation and following (see scheduleRotation, logs)
    await this.serial.idle();
    clearTimeout(this.rotationTimer);
    if (!options.keepReplicas) await this.removeAll();
    for (const supervisor of this.workloads.values()) supervisor.detach();
    this.workloads.clear();
    lock?.release();
  }

  private restore(): void {
    const lock = StateLock.acquire(this.options.stateDir);
    try {
      // Unpacks a crash cut short go before any replica starts (none can be using them).
      this.shared.bundles.sweep();
      for (const stored of readWorkloadRecords(this.options.stateDir)) {
        if ('error' in stored) {
          this.restoreWarnings.push(`ignored ${stored.dir}: ${stored.error}`);
          continue;
        }
        const supervisor = WorkloadSupervisor.restore(this.shared, stored.dir, stored.record);
        this.workloads.set(workloadKeyString(supervisor.key), supervisor);
      }
    } catch (err) {
      // Leave everything as found (running, recorded) for a later attempt.
      for (const supervisor of this.workloads.values()) supervisor.detach();
      this.workloads.clear();
      lock.release();
      throw err;
    }
    this.lock = lock;
    this.scheduleRotation();
  }

  private scheduleRotation(): void {
    this.rotationTimer = setTimeout(() => {
      void Promise.all([...this.workloads.values()].map((w) => w.rotateLogs().catch(() => undefined))).then(() => {
        if (this.lock !== undefined) this.scheduleRotation(); // not closed meanwhile
      });
    }, this.options.logCheckIntervalMs);
  }
}
