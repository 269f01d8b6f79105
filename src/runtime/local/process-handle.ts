/**
 * One running replica process, whether this runtime started it or adopted it after a restart.
 * Started processes report their exit through Node's child handle (exact code and signal); adopted
 * ones are not our children, so their exit can only be noticed by polling their identity, and the
 * exit status is unknown.
 */
import { spawn } from 'node:child_process';
import { isSameProcess, processStartTime, type ProcessIdentity, signalGroup } from './process-identity.js';

/** How a process ended. `code` and `signal` are null when unknown (adopted process, failed spawn). */
export interface ExitInfo {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** Set when the process could not be started at all (e.g. ENOENT for the command). */
  readonly error?: string;
}

/** What {@link ProcessHandle.spawn} needs. */
export interface SpawnSpec {
  readonly argv: readonly string[];
  readonly env: NodeJS.ProcessEnv;
  /** Working directory; default this process's. */
  readonly cwd?: string;
  /** Open file descriptors the child inherits as stdout and stderr. */
  readonly stdoutFd: number;
  readonly stderrFd: number;
}

/** A started or adopted process; {@link exited} settles once, when it is gone. */
export class ProcessHandle {
  private constructor(
    readonly identity: ProcessIdentity,
    /** Resolves when the process has exited (never rejects). */
    readonly exited: Promise<ExitInfo>,
    private readonly release: () => void,
  ) {}

  get pid(): number {
    return this.identity.pid;
  }

  /**
   * Starts `argv` as the leader of a new session and process group: a terminal's Ctrl-C aimed at
   * the control plane does not reach it (replicas outlive the control plane by design), and
   * signalling the group reaches anything it forks. Stdio goes straight to the given files, so the
   * child never blocks on, or dies with, a pipe to this process.
   */
  static spawn(spec: SpawnSpec): ProcessHandle {
    const [command, ...args] = spec.argv;
    const child = spawn(command!, args, {
      detached: true,
      env: spec.env,
      ...(spec.cwd === undefined ? {} : { cwd: spec.cwd }),
      stdio: ['ignore', spec.stdoutFd, spec.stderrFd],
    });
    const exited = new Promise<ExitInfo>((resolve) => {
      child.once('exit', (code, signal) => resolve({ code, signal }));
      // 'error' without 'exit' happens when the command cannot be executed at all.
      child.on('error', (err) => {
        if (child.pid === undefined) resolve({ code: null, signal: null, error: err.message });
      });
    });
    const pid = child.pid ?? -1;
    const identity: ProcessIdentity = { pid, startTime: pid > 0 ? processStartTime(pid) : undefined };
    return new ProcessHandle(identity, exited, () => child.unref());
  }

  /**
   * Takes over a process recorded by an earlier runtime, if it is still the same process; returns
   * undefined when it is gone. Its exit is detected by polling every `pollMs`.
   */
  static adopt(identity: ProcessIdentity, pollMs: number): ProcessHandle | undefined {
    if (!isSameProcess(identity)) return undefined;
    let timer: NodeJS.Timeout | undefined;
    const exited = new Promise<ExitInfo>((resolve) => {
      timer = setInterval(() => {
        if (isSameProcess(identity)) return;
        clearInterval(timer);
        resolve({ code: null, signal: null });
      }, pollMs);
    });
    return new ProcessHandle(identity, exited, () => clearInterval(timer));
  }

  /** True when the process was never started (spawn failed synchronously). */
  get failedToStart(): boolean {
    return this.pid <= 0;
  }

  /** Signals the process group, unless the pid no longer belongs to our process. */
  signal(signal: NodeJS.Signals): void {
    if (this.failedToStart || !isSameProcess(this.identity)) return;
    signalGroup(this.pid, signal);
  }

  /** SIGTERM, then SIGKILL if the process is still there after `graceMs`; resolves once it exited. */
  async terminate(graceMs: number): Promise<void> {
    this.signal('SIGTERM');
    const killer = setTimeout(() => this.signal('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(killer);
  }

  /**
   * Right after the leader exited: SIGKILL whatever is left of its process group (a wrapper's
   * children that ignored SIGTERM), so a stop leaves no orphans. Only the group is signalled, never
   * the bare pid, which may already belong to someone else.
   */
  sweepGroup(): void {
    if (this.failedToStart) return;
    try {
      process.kill(-this.pid, 'SIGKILL');
    } catch {
      // ESRCH: the group is empty, the usual case
    }
  }

  /**
   * Stops watching without touching the process: the control plane is going away and leaves the
   * replica running for the next runtime to adopt. {@link exited} then never settles.
   */
  detach(): void {
    this.release();
  }
}

/** How an exit reads in a replica message, e.g. "exited with code 3" or "was killed by SIGKILL". */
export function describeExit(info: ExitInfo): string {
  if (info.error !== undefined) return `could not be started: ${info.error}`;
  if (info.code !== null) return `exited with code ${info.code}`;
  if (info.signal !== null) return `was killed by ${info.signal}`;
  return 'exited (status unknown: the process was adopted, not our child)';
}

/**
 * Why a process ended on its own: `Completed` for exit code 0, `Error` for any other code, a
 * signal this runtime did not send, or a failed spawn; undefined when unknown (an adopted process
 * is not our child, so its exit status cannot be read).
 */
export function exitTermination(info: ExitInfo, description: string): { reason: string; message: string } | undefined {
  if (info.error === undefined && info.code === null && info.signal === null) return undefined;
  return { reason: info.code === 0 ? 'Completed' : 'Error', message: description };
}
