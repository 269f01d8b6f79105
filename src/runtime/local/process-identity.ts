/**
 * Recognising a process again after the control plane restarted. A pid alone is not an identity:
 * Linux reuses pids, so a recorded pid may now belong to an unrelated process. The kernel's start
 * time of the process (field 22 of /proc/<pid>/stat, in clock ticks since boot) does not change for
 * the life of a process and differs for any later process with the same pid, so (pid, start time)
 * is the identity we persist and check before adopting or signalling anything.
 */
import { readFileSync } from 'node:fs';

/** A pid plus the kernel's start time of that process; `startTime` is undefined where /proc is missing. */
export interface ProcessIdentity {
  readonly pid: number;
  readonly startTime?: string;
}

interface ProcStat {
  readonly state: string;
  readonly startTime: string;
}

function readStat(pid: number): ProcStat | undefined | 'no-proc' {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return process.platform === 'linux' ? undefined : 'no-proc';
    return undefined;
  }
  // The command name (field 2) is in parentheses and may itself contain spaces or ')', so the
  // fixed fields are counted from the last ')': field 3 (state) is the first after it.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const state = fields[0];
  const startTime = fields[19];
  return state && startTime ? { state, startTime } : undefined;
}

/** The kernel start time of `pid`, or undefined when the process is gone or /proc is unavailable. */
export function processStartTime(pid: number): string | undefined {
  const stat = readStat(pid);
  return typeof stat === 'object' ? stat.startTime : undefined;
}

/**
 * True while the process recorded as `identity` still runs: the pid exists, is not a zombie, and
 * (where /proc exists) has the recorded start time. Without /proc (not Linux) it falls back to the
 * pid alone, which is the best such a platform offers.
 */
export function isSameProcess(identity: ProcessIdentity): boolean {
  const stat = readStat(identity.pid);
  if (stat === 'no-proc') return pidExists(identity.pid);
  if (stat === undefined || stat.state === 'Z') return false;
  return identity.startTime === undefined || stat.startTime === identity.startTime;
}

function pidExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Sends `signal` to the process group led by `pid` (replicas are started as group leaders, so a
 * shell wrapper's children are reached too), falling back to the pid alone. Errors are ignored: the
 * process may have exited in the meantime, which is the outcome the caller wants anyway.
 */
export function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}
