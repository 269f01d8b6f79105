/**
 * CPU time and resident memory of a replica's process tree, read from /proc (Linux). The tree is
 * the leader and every descendant (found through /proc/<pid>/task/<tid>/children), so a shell
 * wrapper or a worker process counts against its replica. Elsewhere every reading is empty.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/** One reading of a process tree. */
export interface TreeUsage {
  /** Sum of VmRSS, bytes. */
  readonly memoryBytes: number;
  /**
   * Sum of utime + stime + cutime + cstime, in clock ticks: the time of the live processes and of
   * the children they already reaped, so a short-lived helper's CPU is not lost.
   */
  readonly cpuTicks: number;
  /** How many processes were read (0 when the leader is gone). */
  readonly processes: number;
}

let ticksPerSecond: number | undefined;

/** The kernel's clock ticks per second (`getconf CLK_TCK`, read once; 100 when unavailable). */
export function clockTicksPerSecond(): number {
  if (ticksPerSecond === undefined) {
    try {
      const value = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8', timeout: 2_000 }).trim());
      ticksPerSecond = Number.isInteger(value) && value > 0 ? value : 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/** `leader` and all its descendants that exist now (leader first). */
export function processTree(leader: number): number[] {
  const seen = new Set<number>();
  const queue = [leader];
  while (queue.length > 0) {
    const pid = queue.shift()!;
    if (seen.has(pid)) continue;
    seen.add(pid);
    queue.push(...childrenOf(pid));
  }
  return [...seen];
}

/** Reads the memory and CPU time of the tree led by `leader`. */
export function readTreeUsage(leader: number): TreeUsage {
  let memoryBytes = 0;
  let cpuTicks = 0;
  let processes = 0;
  for (const pid of processTree(leader)) {
    const rss = readRssBytes(pid);
    const ticks = readCpuTicks(pid);
    if (rss === undefined || ticks === undefined) continue; // exited while we looked
    memoryBytes += rss;
    cpuTicks += ticks;
    processes += 1;
  }
  return { memoryBytes, cpuTicks, processes };
}

function childrenOf(pid: number): number[] {
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return [];
  }
  return tasks.flatMap((tid) => {
    try {
      return readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8')
        .split(' ')
        .filter((s) => s !== '')
        .map(Number);
    } catch {
      return [];
    }
  });
}

/** VmRSS of `pid` in bytes; 0 for a zombie (no VmRSS line); undefined when it is gone. */
function readRssBytes(pid: number): number | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return undefined;
  }
  const kb = /^VmRSS:\s+(\d+)\s+kB$/m.exec(text)?.[1];
  return kb === undefined ? 0 : Number(kb) * 1024;
}

/** utime + stime + cutime + cstime (fields 14–17 of /proc/<pid>/stat), or undefined when gone. */
function readCpuTicks(pid: number): number | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // Fields after the command name, which is in parentheses and may contain spaces: field 3 first.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const sum = [11, 12, 13, 14].reduce((total, i) => total + Number(fields[i]), 0);
  return Number.isFinite(sum) ? sum : undefined;
}
