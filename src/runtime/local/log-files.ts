/**
 * Replica log files: one file per replica and stream, written by the replica itself, rotated by
 * the runtime.
 *
 * The runtime opens each file with O_APPEND and passes the descriptor as the child's stdout or
 * stderr — no pipe — so a replica never blocks on a full pipe or dies of SIGPIPE when the control
 * plane is gone, and nothing it prints depends on the control plane reading it.
 *
 * Rotation is copy-truncate: current → `.1` (older files shift to `.2` …), then the current file
 * is truncated in place. Renaming the current file away would not work, because the child keeps
 * writing to the renamed file through its descriptor and arbitrary application commands offer no
 * "reopen your logs" signal. O_APPEND is what makes truncation safe: every write lands at the
 * current end of the file, so after the truncate the child continues at offset 0 instead of at its
 * old offset, which would leave a hole of NUL bytes. The price, as with logrotate's
 * `copytruncate`, is that bytes written in the instant between the last copy and the truncate are
 * lost; the copy is topped up right before truncating to keep that window tiny. Rotation only runs
 * while a runtime is up; a replica outliving its control plane grows its file until a runtime
 * adopts it.
 */
import { closeSync, constants, mkdirSync, openSync } from 'node:fs';
import { appendFile, copyFile, open, rename, rm, stat, truncate } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/** The two log files of one replica (the current ones; rotated copies append `.1`, `.2` …). */
export interface LogPaths {
  readonly stdout: string;
  readonly stderr: string;
}

/** Where a replica's logs live inside its workload directory. */
export function replicaLogPaths(workloadDir: string, replicaId: string): LogPaths {
  const base = join(workloadDir, 'logs', replicaId);
  return { stdout: `${base}.stdout.log`, stderr: `${base}.stderr.log` };
}

/** `path` for generation 0 (current), `path.n` for older generations. */
export function generationPath(path: string, generation: number): string {
  return generation === 0 ? path : `${path}.${generation}`;
}

/**
 * Opens both files for appending (created when missing) and returns their descriptors, to be
 * passed to the child and then closed by the caller.
 */
export function openForChild(paths: LogPaths): { stdout: number; stderr: number } {
  const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_APPEND;
  mkdirSync(dirname(paths.stdout), { recursive: true });
  const stdout = openSync(paths.stdout, flags, 0o640);
  try {
    return { stdout, stderr: openSync(paths.stderr, flags, 0o640) };
  } catch (err) {
    closeSync(stdout);
    throw err;
  }
}

/**
 * Serialises, within this process, the rotation of a file with reads that must see it either
 * before or after a rotation (never halfway), and counts each file's rotations so a follower
 * knows how many generations moved since it last looked.
 */
export class RotationTracker {
  private readonly files = new Map<string, { rotations: number; queue: Promise<unknown> }>();

  /** How often `path` was rotated by this process. */
  rotations(path: string): number {
    return this.files.get(path)?.rotations ?? 0;
  }

  /** Runs `task` while no rotation of `path` (and no other exclusive task on it) runs. */
  exclusive<T>(path: string, task: () => Promise<T>): Promise<T> {
    const entry = this.entry(path);
    const result = entry.queue.then(task);
    entry.queue = result.catch(() => undefined);
    return result;
  }

  /** Counts one rotation of `path`. */
  rotated(path: string): void {
    this.entry(path).rotations += 1;
  }

  /** Forgets `path` (its replica is gone). */
  forget(path: string): void {
    this.files.delete(path);
  }

  private entry(path: string): { rotations: number; queue: Promise<unknown> } {
    let entry = this.files.get(path);
    if (!entry) this.files.set(path, (entry = { rotations: 0, queue: Promise.resolve() }));
    return entry;
  }
}

/**
 * Rotates `path` when it is larger than `maxBytes`, keeping `files` generations in all (current
 * included; `files` = 1 means the current file is simply truncated). Returns true if it rotated.
 */
export function rotateIfNeeded(
  path: string,
  maxBytes: number,
  files: number,
  tracker: RotationTracker,
): Promise<boolean> {
  return tracker.exclusive(path, async () => {
    const size = await sizeOf(path);
    if (size === undefined || size <= maxBytes) return false;
    if (files > 1) {
      for (let g = files - 1; g >= 2; g--) {
        await rename(generationPath(path, g - 1), generationPath(path, g)).catch(ignoreMissing);
      }
      const first = generationPath(path, 1);
      await copyFile(path, first);
      await topUp(path, first);
    }
    await truncate(path, 0);
    tracker.rotated(path);
    return true;
  });
}

/** Appends to `copy` whatever the child wrote to `path` after the copy was taken. */
async function topUp(path: string, copy: string): Promise<void> {
  const copied = (await stat(copy)).size;
  const now = await sizeOf(path);
  if (now === undefined || now <= copied) return;
  const handle = await open(path, 'r');
  try {
    const extra = Buffer.alloc(now - copied);
    const { bytesRead } = await handle.read(extra, 0, extra.length, copied);
    await appendFile(copy, extra.subarray(0, bytesRead));
  } finally {
    await handle.close();
  }
}

/** Deletes a replica's log files, every generation. */
export async function deleteLogs(paths: LogPaths, files: number): Promise<void> {
  const all = [paths.stdout, paths.stderr].flatMap((p) =>
    Array.from({ length: files }, (_, g) => generationPath(p, g)),
  );
  await Promise.all(all.map((p) => rm(p, { force: true })));
}

/** The last non-empty line of `path` (looking at its final 4 KiB), for crash messages. */
export async function lastLine(path: string): Promise<string | undefined> {
  return (await lastLines(path, 1)).at(-1);
}

/** The last `count` non-empty lines of `path` (within its last 4 KiB), oldest first; [] when none. */
export async function lastLines(path: string, count: number): Promise<string[]> {
  const size = await sizeOf(path);
  if (!size) return [];
  const handle = await open(path, 'r');
  try {
    const length = Math.min(size, 4096);
    const buffer = Buffer.alloc(length);
    const { bytesRead } = await handle.read(buffer, 0, length, size - length);
    const lines = buffer
      .subarray(0, bytesRead)
      .toString('utf8')
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean);
    // The first line may be cut by the 4 KiB window; it is dropped unless the window is the whole file.
    return (length < size && lines.length > count ? lines.slice(1) : lines).slice(-count);
  } finally {
    await handle.close();
  }
}

/** Size of `path`, or undefined when it does not exist. */
export async function sizeOf(path: string): Promise<number | undefined> {
  try {
    return (await stat(path)).size;
  } catch (err) {
    ignoreMissing(err);
    return undefined;
  }
}

function ignoreMissing(err: unknown): void {
  if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
}
