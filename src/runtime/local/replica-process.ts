/**
 * One supervised replica: starts its process (after checking the model artifact), probes it,
 * restarts it with capped exponential back-off when it exits or fails liveness, and stops it
 * gracefully. The replica keeps its id, log files and (when free) its port across restarts.
 */
import { closeSync } from 'node:fs';
import type { ReplicaStatus, Workload } from '../runtime.js';
import type { ArtifactVerifier, DigestCheck } from './artifact-digest.js';
import { backoffDelay, CrashHistory } from './backoff.js';
import { freePort } from './free-port.js';
import type { ResolvedLocalOptions } from './local-options.js';
import { lastLine, type LogPaths, openForChild, replicaLogPaths } from './log-files.js';
import { describeExit, type ExitInfo, ProcessHandle } from './process-handle.js';
import { ProbeLoop } from './probes.js';
import type { ReplicaRecord } from './replica-state.js';
import { probePath, replicaCommand } from './workload-spec.js';

const HOST = '127.0.0.1';

/** What a replica needs from its workload. */
export interface ReplicaContext {
  readonly options: ResolvedLocalOptions;
  /** The workload directory (logs live under it). */
  readonly dir: string;
  readonly workload: () => Workload;
  readonly verifier: ArtifactVerifier;
  /** Told every artifact check result, for the workload's condition. */
  readonly artifactChecked: (check: DigestCheck) => void;
  /** Called after every change of state worth persisting or reporting. */
  readonly changed: () => void;
}

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
  private probes: ProbeLoop[] = [];
  private readinessFailures = 0;
  private livenessFailures = 0;
  private restartTimer: NodeJS.Timeout | undefined;
  private killReason: string | undefined;
  /** Set when the artifact check failed; the replica waits for the next apply to try again. */
  private blocked = false;
  /** Set synchronously when a stop is requested, so the record written during the stop says so. */
  private stopRequested = false;
  private stopping: Promise<void> | undefined;
  private detached = false;

  constructor(private readonly ctx: ReplicaContext, record: Pick<ReplicaRecord, 'id' | 'seq' | 'restarts' | 'port'>) {
    this.id = record.id;
    this.seq = record.seq;
    this.restarts = record.restarts;
    this.port = record.port;
    this.logs = replicaLogPaths(ctx.dir, record.id);
    this.crashes = new CrashHistory(ctx.options.crashLoopThreshold, ctx.options.crashLoopWindowMs);
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
    const handle = ProcessHandle.adopt({ pid: record.pid, startTime: record.processStartTime }, this.ctx.options.exitPollMs);
    if (!handle) return false;
    this.handle = handle;
    this.startedAt = record.startedAt ? Date.parse(record.startedAt) : this.ctx.options.now();
    this.message = 'adopted after a control-plane restart';
    this.watch(handle);
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

  /** The replica as reported by observe(). */
  status(): ReplicaStatus {
    return {
      id: this.id,
      endpoint: this.pid !== undefined && this.port !== undefined ? `http://${HOST}:${this.port}` : undefined,
      phase: this.phase,
      restarts: this.restarts,
      message: this.message,
      startedAt: this.startedAt === undefined ? undefined : new Date(this.startedAt).toISOString(),
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
      startedAt: this.status().startedAt,
      stopping: this.stopRequested ? true : undefined,
    };
  }

  private get active(): boolean {
    return !this.stopRequested && !this.detached;
  }

  private async launch(message?: string): Promise<void> {
    this.restartTimer = undefined;
    const workload = this.ctx.workload();
    if (workload.model) {
      const check = await this.ctx.verifier.verify(workload.model.artifactPath, workload.model.digest);
      if (!this.active) return;
      this.ctx.artifactChecked(check);
      if (!check.ok) {
        this.blocked = true;
        this.setPhase('crashed', `not started: ${check.message}`);
        return;
      }
    }
    let handle: ProcessHandle;
    try {
      const port = await freePort(HOST, this.port);
      if (!this.active) return;
      this.port = port;
      const { argv, env } = replicaCommand(workload, this.id, port, this.ctx.options.wharfBin, this.ctx.options.stopGraceMs);
      const fds = openForChild(this.logs);
      try {
        handle = ProcessHandle.spawn({ argv, env, stdoutFd: fds.stdout, stderrFd: fds.stderr });
      } finally {
        closeSync(fds.stdout);
        closeSync(fds.stderr);
      }
    } catch (err) {
      this.scheduleRestart(`could not be started: ${(err as Error).message}`);
      return;
    }
    this.handle = handle;
    this.startedAt = this.ctx.options.now();
    this.setPhase('starting', message);
    this.watch(handle);
  }

  private watch(handle: ProcessHandle): void {
    const workload = this.ctx.workload();
    const base = `http://${HOST}:${this.port}`;
    this.readinessFailures = 0;
    this.livenessFailures = 0;
    const { readiness, liveness } = workload;
    this.probes = [
      new ProbeLoop(base + probePath(readiness, 'readiness'), readiness.intervalMs, readiness.timeoutMs, (ok) => this.onReadiness(ok)),
      new ProbeLoop(base + probePath(liveness, 'liveness'), liveness.intervalMs, liveness.timeoutMs, (ok) => this.onLiveness(ok)),
    ];
    if (handle.failedToStart) this.stopProbes();
    else for (const probe of this.probes) probe.start();
    void handle.exited.then((info) => this.onExit(handle, info));
  }

  private onReadiness(ok: boolean): void {
    const now = this.ctx.options.now();
    if (ok) {
      this.readinessFailures = 0;
      if (this.phase === 'starting' || this.phase === 'unready') {
        this.readySince = now;
        this.setPhase('ready', undefined);
      }
      if (this.crashes.settle(this.readySince, now)) this.ctx.changed();
      return;
    }
    this.readinessFailures += 1;
    const retries = this.ctx.workload().readiness.retries;
    if (this.phase === 'ready' && this.readinessFailures >= retries) {
      this.readySince = undefined;
      this.setPhase('unready', `readiness probe failed ${this.readinessFailures} times in a row`);
    }
  }

  private onLiveness(ok: boolean): void {
    if (ok) {
      this.livenessFailures = 0;
      return;
    }
    const { liveness } = this.ctx.workload();
    if (this.ctx.options.now() - (this.startedAt ?? 0) < liveness.startupGraceMs) return;
    this.livenessFailures += 1;
    const handle = this.handle;
    if (this.livenessFailures < liveness.retries || !handle || this.killReason) return;
    this.killReason = `liveness probe ${probePath(liveness, 'liveness')} failed ${this.livenessFailures} times in a row`;
    this.stopProbes();
    void handle.terminate(this.ctx.options.stopGraceMs);
  }

  private async onExit(handle: ProcessHandle, info: ExitInfo): Promise<void> {
    if (handle !== this.handle) return;
    this.stopProbes();
    this.handle = undefined;
    this.readySince = undefined;
    if (!this.active) return;
    handle.sweepGroup();
    let description = describeExit(info);
    if (this.killReason) description = `${this.killReason}; ${description}`;
    this.killReason = undefined;
    const stderr = await lastLine(this.logs.stderr).catch(() => undefined);
    if (stderr) description += `; last stderr line: ${JSON.stringify(stderr.slice(0, 500))}`;
    this.scheduleRestart(description);
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
  }

  private stopProbes(): void {
    for (const probe of this.probes) probe.stop();
    this.probes = [];
  }

  private setPhase(phase: ReplicaStatus['phase'], message: string | undefined): void {
    this.phase = phase;
    this.message = message;
    this.ctx.changed();
  }
}
