/**
 * Writes a benchmark's results as JSON under `var/bench/` (git-ignored), one file per run, so runs
 * can be compared later without re-reading terminal output.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';

/** Facts about the machine that decide how comparable two results files are. */
export interface MachineInfo {
  cpus: number;
  cpuModel: string;
  node: string;
  platform: string;
  /** 1-minute load average when the run started: other work on the machine skews every figure. */
  loadAverage1m: number;
}

/** The machine this process runs on. */
export function machineInfo(): MachineInfo {
  const list = cpus();
  return {
    cpus: list.length,
    cpuModel: list[0]?.model ?? 'unknown',
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    loadAverage1m: loadavg()[0] ?? 0,
  };
}

/**
 * Writes `data` to `<repoRoot>/var/bench/<name>-<timestamp>.json` and returns the path.
 * The timestamp is ISO 8601 in UTC with `:` and `.` replaced, so it sorts and is a valid file name.
 */
export async function writeResults(repoRoot: string, name: string, data: unknown, at = new Date()): Promise<string> {
  const dir = join(repoRoot, 'var', 'bench');
  await mkdir(dir, { recursive: true });
  const path = join(dir, `${name}-${at.toISOString().replace(/[:.]/g, '-')}.json`);
  await writeFile(path, JSON.stringify(data, null, 2) + '\n');
  return path;
}
