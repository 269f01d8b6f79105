/** Finds processes by their command line, to prove that nothing of Wharf's is left running. */
import { readdirSync, readFileSync } from 'node:fs';

/** Pids whose command line contains `fragment` (e.g. a test's temporary home folder). */
export function pidsWithArg(fragment: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replaceAll('\0', ' ');
      if (cmdline.includes(fragment)) pids.push(Number(entry));
    } catch {
      // exited while we looked
    }
  }
  return pids;
}

/** Whether `pid` runs `wharf gateway` (the gateway process of `wharf up`, or a standalone one). */
function isGateway(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8')
      .split('\0')
      .slice(1, 3)
      .some((arg, i, args) => arg === 'gateway' && args[i - 1]?.endsWith('wharf.js'));
  } catch {
    return false;
  }
}

/** {@link pidsWithArg} that run `wharf gateway`. */
export function gatewayPidsWithArg(fragment: string): number[] {
  return pidsWithArg(fragment).filter(isGateway);
}

/** {@link pidsWithArg} without the gateway processes: the model replicas (and `wharf up` itself, if its arguments match). */
export function replicaPidsWithArg(fragment: string): number[] {
  return pidsWithArg(fragment).filter((pid) => !isGateway(pid));
}
