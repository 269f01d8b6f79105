/**
 * CPU time of a process group, read from Linux's /proc. On a 2-core machine a proxy's CPU cost per
 * request decides how much of a core is left for the model server, so it explains a throughput
 * ratio better than the ratio alone. Linux only; elsewhere every reading is `undefined`.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** Kernel clock ticks per second for /proc times (USER_HZ): 100 on every mainstream Linux. */
const TICKS_PER_SECOND = 100;

/**
 * User + system CPU seconds of every live process in process group `pgid` (the harness starts each
 * server as a group leader, so for nginx this includes master and worker). `undefined` without /proc.
 */
export function groupCpuSeconds(pgid: number): number | undefined {
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((name) => /^\d+$/.test(name));
  } catch {
    return undefined;
  }
  let ticks = 0;
  for (const pid of pids) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      continue; // Exited between readdir and read.
    }
    // Fields after the command name, which is in parentheses and may itself contain spaces or ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[0] is field 3 (state): pgrp is field 5, utime 14, stime 15 (proc(5)).
    if (Number(fields[2]) !== pgid) continue;
    ticks += Number(fields[11]) + Number(fields[12]);
  }
  return ticks / TICKS_PER_SECOND;
}

/**
 * Starts a CPU measurement of group `pgid`; the returned function gives the CPU microseconds per
 * request for `requests` requests since the start (`undefined` without /proc or without requests).
 */
export function cpuMeter(pgid: number): (requests: number) => number | undefined {
  const before = groupCpuSeconds(pgid);
  return (requests) => {
    const after = groupCpuSeconds(pgid);
    if (before === undefined || after === undefined || requests <= 0) return undefined;
    return ((after - before) * 1e6) / requests;
  };
}

/**
 * CPU seconds the hypervisor took from this virtual machine ("steal"), summed over all CPUs since
 * boot. Growing steal during a run means a neighbour had our cores: latency tails then measure the
 * host, not the code. `undefined` without /proc.
 */
export function stealSeconds(): number | undefined {
  try {
    // First line: `cpu  user nice system idle iowait irq softirq steal ...` in ticks.
    const fields = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/);
    const steal = Number(fields[8]);
    return Number.isFinite(steal) ? steal / TICKS_PER_SECOND : undefined;
  } catch {
    return undefined;
  }
}

/** Starts a steal measurement; the returned function gives the seconds stolen since. */
export function stealMeter(): () => number | undefined {
  const before = stealSeconds();
  return () => {
    const after = stealSeconds();
    return before === undefined || after === undefined ? undefined : after - before;
  };
}

/** `stolen` CPU seconds as a share of all CPU time in `elapsedS` on `cpus` CPUs; `undefined` when unknown. */
export function stealShare(stolen: number | undefined, elapsedS: number, cpus: number): number | undefined {
  return stolen === undefined || elapsedS <= 0 || cpus <= 0 ? undefined : stolen / (elapsedS * cpus);
}

/** e.g. `0.52 s (1.4%)`; `?` when /proc gave nothing. */
export function formatSteal(seconds: number | undefined, share: number | undefined): string {
  if (seconds === undefined) return '?';
  return share === undefined ? `${seconds.toFixed(2)} s` : `${seconds.toFixed(2)} s (${(share * 100).toFixed(1)}%)`;
}
