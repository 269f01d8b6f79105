/**
 * The local runtime: every replica is a child process on this machine — `wharf serve-model` for a
 * model, the workload's command for an application — supervised (probes, restarts with back-off,
 * crash-loop detection), logged to size-capped files, and recorded on disk so that a restarted
 * control plane adopts the running replicas instead of starting a second set.
 *
 * @example
 *   const runtime = new LocalRuntime({ stateDir: join(home, 'runtime') });
 *   await runtime.start();                       // optional: the first call starts it anyway
 *   await runtime.apply(workload);
 *   const status = await runtime.observe(workload.key);
 *   process.once('SIGINT', () => void runtime.close()); // stops every replica gracefully
 */
import { NotFoundError, UnavailableError } from '../../core/errors.js';
import {
  type LogLine,
  type LogOptions,
  type ReplicaUsage,
  type Runtime,
  type RuntimeCapabilities,
  type Workload,
  type WorkloadKey,
  workloadKeyString,
  type WorkloadStatus,
} from '../runtime.js';
import { ArtifactVerifier } from './artifact-digest.js';
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

export type { LocalRuntimeOptions } from './local-options.js';

/** Runs workloads as supervised local processes. See the module comment. */
export class LocalRuntime implements Runtime {
  readonly name = 'local';
  /**
   * Memory limits are enforced (RSS watchdog), cpu limits are a thread cap (a hard quota only with
   * a writable cgroup v2); each workload's `ResourcesEnforced` condition says which. No GPU scheduling.
   */
  readonly capabilities: RuntimeCapabilities = {
    logs: true,
    followLogs: true,
    resourceLimits: true,
    gpu: false,
    usage: true,
    changeNotifications: true,
  };

  private readonly options: ResolvedLocalOptions;
  private readonly shared: RuntimeShared;
  private readonly workloads = new Map<string, WorkloadSupervisor>();
  private readonly notifier = new ChangeNotifier();
  /** Per-key queue: apply and remove of one key never interleave. */
  private readonly serial = new KeyedSerial();
  private starting: Promise<void> | undefined;
  private lock: StateLock | undefined;
  private rotationTimer: NodeJS.Timeout | undefined;
  private closed = false;
  /** Problems found while restoring state (unreadable records), for the caller to log. */
  readonly restoreWarnings: string[] = [];

  constructor(options: LocalRuntimeOptions) {
    this.options = resolveLocalOptions(options);
    this.shared = {
      options: this.options,
      verifier: new ArtifactVerifier(),
      rotations: new RotationTracker(),
      cpuCgroup: options.cpuCgroup ?? cpuCgroupSupport(),
      announce: (key) => this.notifier.announce(key),
    };
  }

  /**
   * Locks the state directory and takes over the replicas recorded there (see
   * {@link WorkloadSupervisor.restore}). Idempotent; every other method calls it first, so calling
   * it explicitly only serves to surface errors (state directory in use) early.
   */
  start(): Promise<void> {
    this.starting ??= Promise.resolve()
      .then(() => this.restore())
      .catch((err: unknown) => {
        this.starting = undefined; // a later call may succeed, e.g. once the other runtime closed
        throw err;
      });
    return this.starting;
  }

  async apply(workload: Workload): Promise<void> {
    validateWorkload(workload);
    await this.ready();
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
    await this.ready();
    return this.workloads.get(workloadKeyString(key))?.status();
  }

  async list(): Promise<WorkloadStatus[]> {
    await this.ready();
    return [...this.workloads.values()].map((w) => w.status());
  }

  async remove(key: WorkloadKey): Promise<void> {
    await this.ready();
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
    await this.ready();
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
      this.workloads.get(id) === supervisor && !this.closed ? supervisor.logSources(options.replica) : undefined;
    yield* followLogs(current, { ...read, pollMs: this.options.logPollMs, signal: options.signal });
  }

  /** The latest sample (every `usageSampleMs`) of each running replica of `key`; [] when nothing runs. */
  async usage(key: WorkloadKey): Promise<ReplicaUsage[]> {
    await this.ready();
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
    await this.ready();
    await this.removeAll();
  }

  private async removeAll(): Promise<void> {
    await Promise.all([...this.workloads.values()].map((w) => this.removeKey(w.key)));
  }

  /**
   * Stops probing, restarting and rotating, and releases the state directory. Replicas are
   * stopped (as by {@link stopAll}) unless `keepReplicas`, in which case they keep running and
   * stay recorded for the next runtime on this state directory to adopt. Later calls reject.
   */
  async close(options: { keepReplicas?: boolean } = {}): Promise<void> {
    if (this.closed) return;
    this.closed = true; // from here on, new calls reject; calls already under way finish first
    await this.starting?.catch(() => undefined);
    await this.serial.idle();
    clearTimeout(this.rotationTimer);
    if (!options.keepReplicas) await this.removeAll();
    for (const supervisor of this.workloads.values()) supervisor.detach();
    this.workloads.clear();
    this.lock?.release();
    this.lock = undefined;
  }

  private async ready(): Promise<void> {
    if (this.closed) throw new UnavailableError('the local runtime is closed');
    await this.start();
    if (this.closed) throw new UnavailableError('the local runtime is closed');
  }

  private restore(): void {
    const lock = StateLock.acquire(this.options.stateDir);
    try {
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
        if (!this.closed) this.scheduleRotation();
      });
    }, this.options.logCheckIntervalMs);
  }
}
