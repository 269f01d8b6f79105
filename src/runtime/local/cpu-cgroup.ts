/**
 * A hard CPU quota for a replica through cgroup v2 (`cpu.max`), where this process may create
 * cgroups with the cpu controller enabled for them; otherwise the CPU limit is only a thread cap
 * (see resource-policy.ts) and the `ResourcesEnforced` condition says so.
 *
 * Feasible when the cgroup v2 directory of this process lists `cpu` in `cgroup.subtree_control`
 * (children get the controller) and is writable. It is not enabled here on the fly: writing
 * `+cpu` to our own cgroup's subtree_control fails while it holds processes (the "no internal
 * processes" rule) unless it is the root, and moving the control plane around is not ours to do.
 * A replica is moved into its cgroup right after spawn; processes it forked before the move stay
 * where they were (a replica forks later, once it runs, so this is a small window).
 */
import { accessSync, constants, existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Where replica cgroups can be created, or why not. */
export type CpuCgroupSupport =
  { readonly ok: true; readonly dir: string } | { readonly ok: false; readonly reason: string };

/** The quota period written to `cpu.max`, microseconds (the kernel's default). */
const PERIOD_US = 100_000;

let detected: CpuCgroupSupport | undefined;

/** {@link detectCpuCgroup} of this process, computed once. */
export function cpuCgroupSupport(): CpuCgroupSupport {
  detected ??= detectCpuCgroup(readOr('/proc/self/cgroup'), readOr('/proc/self/mountinfo'));
  return detected;
}

/**
 * Finds this process's cgroup v2 directory from the text of /proc/self/cgroup and
 * /proc/self/mountinfo and checks that children there get the cpu controller and can be created.
 */
export function detectCpuCgroup(procCgroup: string, mountinfo: string): CpuCgroupSupport {
  const path = /^0::(.*)$/m.exec(procCgroup)?.[1];
  if (path === undefined) return { ok: false, reason: 'no cgroup v2 hierarchy' };
  const mount = mountinfo
    .split('\n')
    .map((line) => line.split(' '))
    .find((f) => f[f.indexOf('-') + 1] === 'cgroup2')?.[4];
  if (mount === undefined) return { ok: false, reason: 'cgroup v2 is not mounted' };
  const dir = join(mount, path);
  if (!readOr(join(dir, 'cgroup.controllers')).split(/\s+/).includes('cpu')) {
    return { ok: false, reason: `the cgroup v2 ${dir} has no cpu controller` };
  }
  if (!readOr(join(dir, 'cgroup.subtree_control')).split(/\s+/).includes('cpu')) {
    return { ok: false, reason: `the cpu controller is not enabled for children of ${dir}` };
  }
  try {
    accessSync(dir, constants.W_OK);
  } catch {
    return { ok: false, reason: `${dir} is not writable` };
  }
  return { ok: true, dir };
}

/** The `cpu.max` line for `cores`: `'50000 100000'` for 0.5. */
export function cpuMaxLine(cores: number): string {
  return `${Math.max(1_000, Math.round(cores * PERIOD_US))} ${PERIOD_US}`;
}

/**
 * Creates (or reuses) `<dir>/wharf-<replica>`, writes its `cpu.max` and moves `pid` into it.
 * Returns the cgroup's path, or throws (the caller reports the quota as not applied).
 */
export function placeInCpuCgroup(dir: string, replica: string, pid: number, cores: number): string {
  const group = cpuCgroupPath(dir, replica);
  mkdirSync(group, { recursive: true });
  writeFileSync(join(group, 'cpu.max'), cpuMaxLine(cores));
  writeFileSync(join(group, 'cgroup.procs'), String(pid));
  return group;
}

/** The replica's cgroup under `dir` if it exists (an adopted replica placed there by an earlier runtime). */
export function existingCpuCgroup(dir: string, replica: string): string | undefined {
  const group = cpuCgroupPath(dir, replica);
  return existsSync(group) ? group : undefined;
}

function cpuCgroupPath(dir: string, replica: string): string {
  return join(dir, `wharf-${replica.replace(/[^A-Za-z0-9._-]/g, '_')}`);
}

/** Removes a replica's cgroup once its processes are gone; a busy or missing one is left alone. */
export function removeCpuCgroup(group: string): void {
  try {
    rmdirSync(group);
  } catch {
    // EBUSY (a straggler still inside) or ENOENT: nothing useful to do
  }
}

function readOr(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}
