/**
 * One supervised replica: starts its process (after checking the model artifact), probes it
 * (startup probe first when the workload has one, then readiness and liveness), samples its memory
 * and CPU, restarts it with capped exponential back-off when it exits, fails liveness or startup,
 * or goes above its memory limit, and stops it gracefully. The replica keeps its id, log files and
 * (when free) its port across restarts, and reports why its last process ended.
 *
 * This is the state machine; starting a process is `replica-launch.ts`, counting probe failures
 * `probe-failures.ts`, sampling and limits `replica-resources.ts`, what it needs `replica-context.ts`.
 */
import type { ReplicaStatus, ReplicaUsage } from '../runtime.js';
import { backoffDelay, CrashHistory } from './backoff.js';
import { type LogPaths, replicaLogPaths } from './log-files.js';
import { type ExitInfo, exitTermination, ProcessHandle } from './process-handle.js';
import { commandCwd, describeEnd, HOST, launchReplica } from './replica-launch.js';
import type { ExecContext } from './probes.js';
import type { KillCause, ReplicaContext, Termination } from './replica-context.js';
import { ProbeFailures } from './probe-failures.js';
import { ReplicaProbes } from './replica-probes.js';
import { ReplicaResources } from './replica-resources.js';
import type { ReplicaRecord } from './replica-state.js';
import { replicaCommand, stopGraceOf } from './workload-spec.js';

export type { ReplicaContext } from './replica-context.js';

/** A replica slot and the process currently filling it. */
export class ReplicaProcess {
  readonly id: string;
  readonly seq: number;
  readonly logs: LogPaths;
  private restarts: number;
  private port: number | undefined;
  private handle: ProcessHandle | undefined;
  private startedAt: number | undefined;
  private phase: ReplicaStatus['phase'] = 'starting';
  private message: string | undefined;
  private readySince: number | undefined;
  private readonly crashes: CrashHistory;
  private probes: ReplicaProbes | undefined;
  private readonly failures = new ProbeFailures();
  private restartTimer: NodeJS.Timeout | undefined;
  private readonly resources: ReplicaResources;
  private killCause: KillCause | undefined;
  private lastTermination: Termination | undefined;
  /** Set when the artifact check failed; the replica waits for the next apply to try again. */
  private blocked = false;
  /** Set synchronously when a stop is requested, so the record written during the stop says so. */
  private stopRequested = false;
  private stopping: Promise<void> | undefined;
  private detached = false;
  /** Where the running process runs and its environment, for its health command. */
  private exec: ExecContext | undefined;

  constructor(
    private readonly ctx: ReplicaContext,
    record: Pick<ReplicaRecord, 'id' | 'seq' | 'restarts' | 'port' | 'lastTermination'>,
  ) {
    this.id = record.id;
    this.seq = record.seq;
    this.restarts = record.restarts;
    this.port = record.port;
    this.lastTermination = record.lastTermination;
    this.logs = replicaLogPaths(ctx.dir, record.id);
    this.crashes = new CrashHistory(ctx.options.crashLoopThreshold, ctx.options.crashLoopWindowMs);
    this.resources = new ReplicaResources(record.id, ctx.resources, ctx.options.usageSampleMs, {
      overLimit: (message) => this.onOverLimit(message),
      cpuQuotaFailed: ctx.cpuQuotaFailed,
    });
  }

  /** Starts a process for this replica (in the background; progress shows in {@link status}). */
  start(message?: string): void {
    void this.launch(message);
  }

  /**
   * Takes over the process an earlier runtime recorded, if it still runs (same pid and kernel
   * start time). Returns false when it is gone; the caller then starts a new one or forgets it.
   */
  adopt(record: ReplicaRecord): boolean {
    if (record.pid === undefined) return false;
    const handle = ProcessHandle.adopt(
      { pid: record.pid, startTime: record.processStartTime },
      this.ctx.options.exitPollMs,
    );
    if (!handle) return false;
    this.handle = handle;
    // Its environment is not recorded (it may hold secret values): a health command of an adopted
    // replica runs in its folder with the plain part of it.
    const workload = this.ctx.workload();
    const cwd = commandCwd(this.ctx, workload) ?? undefined;
    const { env } = replicaCommand(workload, this.id, record.port, this.ctx.options.wharfBin, 0);
    this.exec = { ...(cwd === undefined ? {} : { cwd }), env };
    this.startedAt = record.startedAt ? Date.parse(record.startedAt) : this.ctx.options.now();
    this.message = 'adopted after a control-plane restart';
    // Its cgroup (if it got one at spawn) is ours again, to be removed when it stops.
    this.resources.adoptCgroup();
    // The startup deadline counts from the adoption: the process may have been running for long,
    // and is given one startup window to show it still answers rather than killed at once.
    this.watch(handle, this.ctx.options.now());
    return true;
  }

  /** After a failed artifact check, tries again (the next apply may follow a fixed artifact). */
  retryIfBlocked(): void {
    if (!this.blocked || !this.active) return;
    this.blocked = false;
    void this.launch();
  }

  /**
   * Stops the replica for good: SIGTERM to its process group, SIGKILL after `graceMs`, and a
   * final SIGKILL sweep of anything left in the group. Idempotent.
   */
  stop(graceMs: number): Promise<void> {
    if (!this.stopping) {
      this.stopRequested = true;
      this.stopping = this.terminateForGood(graceMs);
    }
    return this.stopping;
  }

  /** Stops watching (probes, timers) but leaves the process running, for a later runtime to adopt. */
  detach(): void {
    this.detached = true;
    clearTimeout(this.restartTimer);
    this.stopProbes();
    this.resources.stopSampling();
    this.handle?.detach();
  }

  /** The pid of the running process, if any. */
  get pid(): number | undefined {
    return this.handle && !this.handle.failedToStart ? this.handle.pid : undefined;
  }

  /** A message for the workload's CrashLoop condition while this replica is crash-looping. */
  crashLoopMessage(): string | undefined {
    if (!this.crashes.crashLooping) return undefined;
    return `replica ${this.id} is crash-looping (${this.restarts} restarts): ${this.crashes.lastExit ?? 'exited'}`;
  }

  /** The latest CPU and memory sample of the running process, if one was taken. */
  usage(): ReplicaUsage | undefined {
    return this.resources.usage;
  }

  /**
   * The replica as reported by observe(). A ready replica is reported `unready` while a
   * dependency of the workload fails: its own probes pass, but it must not take traffic.
   */
  status(): ReplicaStatus {
    const hold = this.phase === 'ready' ? this.ctx.dependencyHold() : undefined;
    return {
      id: this.id,
      endpoint: this.pid !== undefined && this.port !== undefined ? `http://${HOST}:${this.port}` : undefined,
      phase: hold === undefined ? this.phase : 'unready',
      restarts: this.restarts,
      message: hold ?? this.message,
      lastTermination: this.lastTermination,
      startedAt: this.startedAtIso(),
    };
  }

  /** The replica as persisted. */
  record(): ReplicaRecord {
    const pid = this.pid;
    return {
      id: this.id,
      seq: this.seq,
      restarts: this.restarts,
      port: this.port,
      pid,
      processStartTime: pid === undefined ? undefined : this.handle?.identity.startTime,
      startedAt: this.startedAtIso(),
      stopping: this.stopRequested ? true : undefined,
      lastTermination: this.lastTermination,
    };
  }

  private startedAtIso(): string | undefined {
    return this.startedAt === undefined ? undefined : new Date(this.startedAt).toISOString();
  }

  private get active(): boolean {
    return !this.stopRequested && !this.detached;
  }

  /** Starts a process (see `replica-launch.ts`) and watches it. */
  private async launch(message?: string): Promise<void> {
    this.restartTimer = undefined;
    const launched = await launchReplica(
      this.ctx,
      { id: this.id, logs: this.logs, port: this.port },
      () => this.active,
    );
    if (launched.kind === 'cancelled') return;
    if (launched.kind === 'blocked') {
      this.blocked = true;
      this.setPhase('crashed', launched.message);
      return;
    }
    if (launched.kind === 'failed') {
      if (launched.port !== undefined) this.port = launched.port;
      this.recordTermination({ reason: 'Error', message: launched.message });
      this.scheduleRestart(launched.message);
      return;
    }
    const { handle } = launched;
    this.port = launched.port;
    this.handle = handle;
    this.exec = { ...(launched.cwd === undefined ? {} : { cwd: launched.cwd }), env: launched.env };
    this.startedAt = this.ctx.options.now();
    if (!handle.failedToStart) this.resources.placeInCgroup(handle.pid);
    this.setPhase('starting', message);
    this.watch(handle, this.startedAt);
  }

  /** Watches a started or adopted process; `since` is when its startup window began. */
  private watch(handle: ProcessHandle, since: number): void {
    this.failures.reset();
    void handle.exited.then((info) => this.onExit(handle, info));
    if (handle.failedToStart) return;
    this.resources.startSampling(handle.pid);
    const workload = this.ctx.workload();
    this.probes = new ReplicaProbes(
      `http://${HOST}:${this.port}`,
      workload,
      {
        startupPassed: () => this.onStartupPassed(),
        startupTimedOut: (message) => this.kill({ reason: 'StartupTimeout', message }, 'SIGTERM'),
        readiness: (ok) => this.onReadiness(ok),
        liveness: (ok) => this.onLiveness(ok),
      },
      this.exec,
    ).begin(since + (workload.startup?.timeoutMs ?? 0) - this.ctx.options.now());
  }

  private onStartupPassed(): void {
    this.readySince = this.ctx.options.now();
    this.setPhase('ready', undefined);
  }

  private onOverLimit(message: string): void {
    // SIGKILL, like the kernel's OOM killer: a replica over its memory cap gets no grace period.
    this.kill({ reason: 'OOMKilled', message }, 'SIGKILL');
  }

  /**
   * Ends the current process for `cause`: SIGTERM with the stop grace, or SIGKILL at once. An
   * OOM kill overrides a gentler kill already under way (memory keeps growing meanwhile).
   */
  private kill(cause: KillCause, signal: 'SIGTERM' | 'SIGKILL'): void {
    const handle = this.handle;
    if (!handle || (this.killCause && cause.reason !== 'OOMKilled')) return;
    this.killCause = cause;
    this.stopProbes();
    if (signal === 'SIGKILL') handle.signal('SIGKILL');
    else void handle.terminate(stopGraceOf(this.ctx.workload(), this.ctx.options.stopGraceMs));
  }

  private onReadiness(ok: boolean): void {
    const now = this.ctx.options.now();
    const verdict = this.failures.readiness(ok, this.phase, this.ctx.workload().readiness);
    if (verdict === 'ready') {
      this.readySince = now;
      this.setPhase('ready', undefined);
    } else if (verdict !== undefined) {
      this.readySince = undefined;
      this.setPhase('unready', verdict.unready);
    }
    if (ok && this.crashes.settle(this.readySince, now)) this.ctx.changed();
  }

  private onLiveness(ok: boolean): void {
    const message = this.failures.liveness(ok, this.ctx.workload(), this.ctx.options.now() - (this.startedAt ?? 0));
    if (message !== undefined) this.kill({ reason: 'LivenessFailed', message }, 'SIGTERM');
  }

  private async onExit(handle: ProcessHandle, info: ExitInfo): Promise<void> {
    if (handle !== this.handle) return;
    this.stopProbes();
    this.resources.stopSampling();
    this.handle = undefined;
    this.readySince = undefined;
    const cause = this.killCause;
    this.killCause = undefined;
    if (!this.active) return;
    handle.sweepGroup();
    this.resources.release();
    const description = await describeEnd(info, cause, this.logs);
    this.recordTermination(cause ?? exitTermination(info, description));
    this.scheduleRestart(description);
  }

  /** Remembers why the last process ended (undefined: unknown, e.g. an adopted process), stamped now. */
  private recordTermination(ended: { readonly reason: string; readonly message: string } | undefined): void {
    this.lastTermination = ended && {
      reason: ended.reason,
      message: ended.message,
      time: new Date(this.ctx.options.now()).toISOString(),
    };
  }

  private scheduleRestart(description: string): void {
    if (!this.active) return;
    const attempt = this.crashes.recordExit(this.ctx.options.now(), description);
    const delayMs = backoffDelay(this.ctx.options.backoff, attempt);
    this.restarts += 1;
    this.setPhase('crashed', `${description}; restarting in ${delayMs} ms`);
    this.restartTimer = setTimeout(() => void this.launch(), delayMs);
  }

  private async terminateForGood(graceMs: number): Promise<void> {
    clearTimeout(this.restartTimer);
    this.stopProbes();
    this.setPhase('stopping', 'stopping');
    const handle = this.handle;
    if (!handle) return;
    await handle.terminate(graceMs);
    handle.sweepGroup();
    this.resources.release();
  }

  /** Stops the probes and the startup deadline (not the resource watch: memory is still capped). */
  private stopProbes(): void {
    this.probes?.stop();
    this.probes = undefined;
  }

  private setPhase(phase: ReplicaStatus['phase'], message: string | undefined): void {
    this.phase = phase;
    this.message = message;
    this.ctx.changed();
  }
}
