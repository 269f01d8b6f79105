/**
 * What the local runtime persists so a new control plane can take over running replicas: one JSON
 * file per workload under `<stateDir>/workloads/<key>/workload.json`, holding the applied workload
 * and, per replica, the process identity (pid + kernel start time), port, restart count and why
 * its last process ended.
 *
 * Writes are synchronous and atomic (temp file, fsync, rename): the file is a few hundred bytes,
 * each write must be complete before the next event is handled (a pid recorded after spawn must be
 * on disk before anything else can crash), and a reader — or a control plane killed mid-write —
 * sees the old file or the new one, never half of one.
 */
import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import type { Workload, WorkloadKey } from '../runtime.js';

/** One replica as persisted. */
export interface ReplicaRecord {
  readonly id: string;
  /** Creation order within the workload; scale-down stops the highest first. */
  readonly seq: number;
  readonly restarts: number;
  readonly port?: number;
  readonly pid?: number;
  /** Kernel start time of `pid` (see process-identity.ts), guarding against pid reuse. */
  readonly processStartTime?: string;
  readonly startedAt?: string;
  /** Set once a graceful stop began; a new runtime finishes the stop instead of adopting. */
  readonly stopping?: boolean;
  /** Why the replica's last process ended, so a new control plane still reports it. */
  readonly lastTermination?: { readonly reason: string; readonly message: string; readonly time: string };
}

/** One workload as persisted. */
export interface WorkloadRecord {
  readonly format: 1;
  readonly workload: Workload;
  readonly nextSeq: number;
  readonly replicas: readonly ReplicaRecord[];
}

const FILE = 'workload.json';

/** The directory that holds everything of one workload (state and logs). */
export function workloadDir(stateDir: string, key: WorkloadKey): string {
  // encodeURIComponent escapes '/', '@' and '%', so the name is one path segment and unambiguous.
  const name = `${encodeURIComponent(key.environment)}@${encodeURIComponent(key.deployment)}@${key.revision}`;
  return join(stateDir, 'workloads', name);
}

/** Atomically replaces the workload's state file. */
export function writeWorkloadRecord(dir: string, record: WorkloadRecord): void {
  mkdirSync(dir, { recursive: true });
  const temp = join(dir, `${FILE}.${process.pid}.tmp`);
  const fd = openSync(temp, 'w');
  try {
    writeSync(fd, `${JSON.stringify(record, null, 2)}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temp, join(dir, FILE));
}

/** A workload directory found on disk, or why it could not be read. */
export type StoredWorkload =
  { readonly dir: string; readonly record: WorkloadRecord } | { readonly dir: string; readonly error: string };

/** Every workload recorded under `stateDir`. */
export function readWorkloadRecords(stateDir: string): StoredWorkload[] {
  const root = join(stateDir, 'workloads');
  let names: string[];
  try {
    names = readdirSync(root);
  } catch {
    return [];
  }
  return names.map((name) => {
    const dir = join(root, name);
    try {
      const record = JSON.parse(readFileSync(join(dir, FILE), 'utf8')) as WorkloadRecord;
      if (record.format !== 1) return { dir, error: `unknown state format ${String(record.format)}` };
      return { dir, record };
    } catch (err) {
      return { dir, error: (err as Error).message };
    }
  });
}

/** Deletes the workload's directory (state and logs). */
export function deleteWorkloadDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}
