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
