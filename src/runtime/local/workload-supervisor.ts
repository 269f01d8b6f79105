/**
 * The replicas of one workload: scaling to the desired count, the workload's conditions, its
 * dependency monitor, and its persisted record. Scale-up starts replicas with fresh ids;
 * scale-down gracefully stops the newest surplus ones (they stay visible as 'stopping' until their
 * process has exited). Every change of a replica's phase or endpoint, and every replica added or
 * removed, is announced to the runtime (which notifies `onChange` listeners).
 */
import { InvalidArgumentError } from '../../core/errors.js';
import {
  type ReplicaUsage,
  type Workload,
  type WorkloadKey,
  type WorkloadStatus,
  workloadKeyString,
} from '../runtime.js';
import type { ArtifactVerifier, DigestCheck } from './artifact-digest.js';
import type { BundleCache } from './bundle-cache.js';
import { ConditionSet } from './condition-set.js';
import type { CpuCgroupSupport } from './cpu-cgroup.js';
import { DependencyMonitor } from './dependency-monitor.js';
import type { ResolvedLocalOptions } from './local-options.js';
import { deleteLogs, rotateIfNeeded, type RotationTracker } from './log-files.js';
import type { LogSource } from './log-reader.js';
import { ReplicaProcess, type ReplicaContext } from './replica-process.js';
import { deleteWorkloadDir, type ReplicaRecord, type WorkloadRecord, writeWorkloadRecord } from './replica-state.js';
import { resourcePlan } from './resource-policy.js';
import { sameReplicaSpec, stopGraceOf } from './workload-spec.js';

/** What every workload of one runtime shares. */
export interface RuntimeShared {
  readonly options: ResolvedLocalOptions;
  readonly verifier: ArtifactVerifier;
  /** Unpacked bundles, one folder per digest. */
  readonly bundles: BundleCache;
  readonly rotations: RotationTracker;
  /** Whether replicas can get a hard cpu quota here. */
  readonly cpuCgroup: CpuCgroupSupport;
  /** Called when a replica of `key` changed phase or endpoint, or was added or removed. */
  readonly announce: (key: WorkloadKey) => void;
}

/** Supervises the replicas of one workload key. */
export class WorkloadSupervisor {
  private workload: Workload;
  private nextSeq: number;
  /** Replicas that count towards the desired number, oldest first. */
  private replicas: ReplicaProcess[] = [];
  /** Surplus replicas being stopped. */
  private readonly retiring = new Set<ReplicaProcess>();
  private readonly conditions: ConditionSet;
  private readonly context: ReplicaContext;
  /** False once removed or detached: late events must not recreate the state file. */
  private persisting = true;
  private readonly dependencies: DependencyMonitor | undefined;
  /** The replicas' ids, phases and endpoints as last announced. */
  private announced = '';

  private readonly options: ResolvedLocalOptions;

  private constructor(
    private readonly shared: RuntimeShared,
    /** The workload's directory (state file and logs). */
    readonly dir: string,
    workload: Workload,
    nextSeq: number,
  ) {
    const { options, verifier } = shared;
    this.options = options;
    this.workload = workload;
    this.nextSeq = nextSeq;
    this.conditions = new ConditionSet(options.now);
    const resources = resourcePlan(workload, shared.cpuCgroup);
    this.context = {
      options,
      dir,
      workload: () => this.workload,
      verifier,
      bundles: shared.bundles,
      artifactChecked: (check) => this.onArtifactCheck(check),
      changed: () => this.changed(),
      resources,
      dependencyHold: () => this.dependencies?.verdict().hold,
      cpuQuotaFailed: (message) => this.conditions.set('ResourcesEnforced', 'False', 'CpuQuotaFailed', message),
    };
    // Says exactly what of the resources is enforced and what is only recorded or carried.
    if (resources.condition) {
      const { status, reason, message } = resources.condition;
      this.conditions.set('ResourcesEnforced', status, reason, message);
    }
    if (workload.dependencies && workload.dependencies.length > 0) {
      this.dependencies = new DependencyMonitor(workload.dependencies, () => this.onDependencies());
      this.onDependencies();
      this.dependencies.start();
    }
  }

  /** A new workload: persists it and starts its replicas. */
  static create(shared: RuntimeShared, dir: string, workload: Workload): WorkloadSupervisor {
    const supervisor = new WorkloadSupervisor(shared, dir, workload, 0);
    supervisor.scale();
    supervisor.persist();
    return supervisor;
  }

  /**
   * A workload recorded by an earlier runtime. Each recorded process that is still the same
   * process (pid and kernel start time) is adopted — probed, counted, stoppable — never started a
   * second time; a replica whose process is gone gets a new one; a stop that was under way is
   * finished.
   */
  static restore(shared: RuntimeShared, dir: string, record: WorkloadRecord): WorkloadSupervisor {
    const supervisor = new WorkloadSupervisor(shared, dir, record.workload, record.nextSeq);
    for (const saved of [...record.replicas].sort((a, b) => a.seq - b.seq)) {
      const replica = new ReplicaProcess(supervisor.context, saved);
      const adopted = replica.adopt(saved);
      if (saved.stopping) {
        if (adopted) supervisor.retire(replica);
        else void deleteLogs(replica.logs, shared.options.logFiles).catch(() => undefined);
      } else if (adopted) {
        supervisor.replicas.push(replica);
      } else {
        const fresh = new ReplicaProcess(supervisor.context, { ...saved, restarts: saved.restarts + 1 });
        supervisor.replicas.push(fresh);
        fresh.start('started again: its process had exited while no runtime was watching');
      }
    }
    supervisor.scale();
    supervisor.persist();
    return supervisor;
  }

  /** The workload key. */
  get key(): WorkloadKey {
    return this.workload.key;
  }

  /**
   * Applies the workload again: scales to its replica count and retries replicas held back by a
   * failed artifact check. Only `replicas`, `labels` and `scaling` may differ from the running spec.
   */
  apply(workload: Workload): void {
    if (!sameReplicaSpec(this.workload, workload)) {
      throw new InvalidArgumentError(
        `workload ${workloadKeyString(workload.key)}: only replicas, labels and scaling may change for a running key; ` +
          'any other change is a new revision and needs a new key',
      );
    }
    this.workload = workload;
    this.scale();
    for (const replica of this.replicas) replica.retryIfBlocked();
    this.persist();
  }

  /** What runs, as observe() reports it. */
  status(): WorkloadStatus {
    const active = this.replicas.map((r) => r.status());
    return {
      key: this.workload.key,
      desiredReplicas: this.workload.replicas,
      readyReplicas: active.filter((r) => r.phase === 'ready').length,
      replicas: [...active, ...[...this.retiring].map((r) => r.status())],
      conditions: this.conditions.list(),
    };
  }

  /** The latest CPU and memory sample of every running replica (retiring ones included). */
  usage(): ReplicaUsage[] {
    return this.all().flatMap((r) => r.usage() ?? []);
  }

  /** Pids of every running process of the workload (retiring ones included). */
  pids(): number[] {
    return this.all().flatMap((r) => (r.pid === undefined ? [] : [r.pid]));
  }

  /** The log files to read, optionally of one replica only; undefined when no such replica exists. */
  logSources(replica?: string): LogSource[] | undefined {
    const chosen = this.all().filter((r) => replica === undefined || r.id === replica);
    if (replica !== undefined && chosen.length === 0) return undefined;
    return chosen
      .sort((a, b) => a.seq - b.seq)
      .flatMap((r) => [
        { replica: r.id, stream: 'stdout' as const, path: r.logs.stdout },
        { replica: r.id, stream: 'stderr' as const, path: r.logs.stderr },
      ]);
  }

  /** Rotates every log file of the workload that outgrew the size cap. */
  async rotateLogs(): Promise<void> {
    for (const replica of this.all()) {
      for (const path of [replica.logs.stdout, replica.logs.stderr]) {
        await rotateIfNeeded(path, this.options.logMaxBytes, this.options.logFiles, this.shared.rotations);
      }
    }
  }

  /** Stops every replica (SIGTERM, SIGKILL after the grace) and deletes the workload's state and logs. */
  async remove(): Promise<void> {
    this.dependencies?.stop();
    const all = this.all();
    // Recorded as stopping until gone: a control plane that dies mid-remove leaves a record the
    // next runtime uses to finish the stop, not orphans.
    this.replicas = [];
    for (const replica of all) this.retiring.add(replica);
    await Promise.all(all.map((r) => r.stop(this.graceMs)));
    this.persisting = false;
    deleteWorkloadDir(this.dir);
    for (const replica of all) this.forgetLogs(replica);
    this.retiring.clear();
    this.announce();
  }

  /** Stops supervising and leaves the processes running, their state on disk for the next runtime. */
  detach(): void {
    this.dependencies?.stop();
    this.persist();
    this.persisting = false;
    for (const replica of this.all()) replica.detach();
  }

  /** SIGTERM to SIGKILL for this workload's replicas: its own grace period, else the runtime's. */
  private get graceMs(): number {
    return stopGraceOf(this.workload, this.options.stopGraceMs);
  }

  private all(): ReplicaProcess[] {
    return [...this.replicas, ...this.retiring];
  }

  private scale(): void {
    const desired = this.workload.replicas;
    while (this.replicas.length < desired) {
      const seq = this.nextSeq++;
      const id = `${this.workload.key.deployment.replace(/[^A-Za-z0-9._-]/g, '_')}-${this.workload.key.revision}-${seq}`;
      const replica = new ReplicaProcess(this.context, { id, seq, restarts: 0 });
      this.replicas.push(replica);
      replica.start();
    }
    if (this.replicas.length > desired) {
      const surplus = this.replicas.slice(desired);
      this.replicas = this.replicas.slice(0, desired);
      for (const replica of surplus.reverse()) this.retire(replica);
    }
    this.announce();
  }

  private retire(replica: ReplicaProcess): void {
    this.retiring.add(replica);
    void replica
      .stop(this.graceMs)
      .then(async () => {
        this.retiring.delete(replica);
        if (!this.persisting) return;
        this.announce();
        this.persist();
        this.forgetLogs(replica);
        await deleteLogs(replica.logs, this.options.logFiles);
      })
      .catch(() => {
        // Leftover log files of a stopped replica are harmless; remove() deletes the directory.
      });
  }

  private forgetLogs(replica: ReplicaProcess): void {
    this.shared.rotations.forget(replica.logs.stdout);
    this.shared.rotations.forget(replica.logs.stderr);
  }

  private onArtifactCheck(check: DigestCheck): void {
    if (check.ok) this.conditions.set('ArtifactVerified', 'True', 'DigestMatched', check.message);
    else this.conditions.set('ArtifactVerified', 'False', check.reason, check.message);
  }

  private onDependencies(): void {
    const { condition } = this.dependencies!.verdict();
    this.conditions.set('DependenciesReady', condition.status, condition.reason, condition.message);
    this.announce();
  }

  /** Tells the runtime when what routes depend on (replica ids, phases, endpoints) changed. */
  private announce(): void {
    const now = JSON.stringify(this.status().replicas.map((r) => [r.id, r.phase, r.endpoint]));
    if (now === this.announced) return;
    this.announced = now;
    this.shared.announce(this.workload.key);
  }

  private changed(): void {
    this.announce();
    const looping = this.replicas.map((r) => r.crashLoopMessage()).filter((m): m is string => m !== undefined);
    if (looping.length > 0) {
      this.conditions.set('CrashLoop', 'True', 'CrashLoopBackOff', looping.join('; '));
    } else if (this.conditions.has('CrashLoop')) {
      this.conditions.set('CrashLoop', 'False', 'ReplicasStable', 'no replica is crash-looping');
    }
    this.persist();
  }

  private persist(): void {
    if (!this.persisting) return;
    const replicas: ReplicaRecord[] = this.all().map((r) => r.record());
    writeWorkloadRecord(this.dir, { format: 1, workload: this.workload, nextSeq: this.nextSeq, replicas });
  }
}
