/**
 * The worker's durable state in its work directory. A part is committed by writing its output and
 * error files, then the checkpoint that counts it: the checkpoint's rename is the commit point, so a
 * worker killed at any moment restarts from the last checkpoint and writes the next part again
 * (overwriting any half-finished files of it), and no row is lost or written twice.
 */
import { createHash } from 'node:crypto';
import { open, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import type { BatchTask } from '../protocol/batch-task.js';

/** What has been committed. */
export interface Checkpoint {
  readonly version: 1;
  /** Digest of the task fields that decide the output; a different task starts afresh. */
  readonly taskKey: string;
  /** Rows of this shard per part; fixed for the job by its first worker. */
  readonly partRows: number;
  readonly partsDone: number;
  /** Input records (of every shard) read up to the end of the last committed part. */
  readonly recordsConsumed: number;
  /** This shard's rows in committed parts: `rowsDone + rowsFailed`. */
  readonly rowsRead: number;
  readonly rowsDone: number;
  readonly rowsFailed: number;
  /** The whole input has been read and every row is in a committed part. */
  readonly inputDone: boolean;
}

/** A checkpoint before the first part. */
export function initialCheckpoint(taskKey: string, partRows: number): Checkpoint {
  const zero = { partsDone: 0, recordsConsumed: 0, rowsRead: 0, rowsDone: 0, rowsFailed: 0 };
  return { version: 1, taskKey, partRows, ...zero, inputDone: false };
}

/** The task fields whose change would change the output (not batch size, concurrency or limits). */
export function taskKey(task: BatchTask): string {
  const { input, output, model, shard } = task;
  const decisive = {
    input,
    output: { format: output.format, joinColumns: output.joinColumns },
    digest: model.digest,
    shard,
  };
  return createHash('sha256').update(JSON.stringify(decisive)).digest('hex');
}

const checkpointPath = (workDir: string): string => join(workDir, 'checkpoint.json');

/** Path of part `n` (1-based): its output rows or its error lines. */
export function partPath(workDir: string, n: number, kind: 'out' | 'err'): string {
  return join(workDir, 'parts', `${String(n).padStart(8, '0')}.${kind}`);
}

/** The committed checkpoint, or undefined when there is none (or it is unreadable: start over). */
export async function readCheckpoint(workDir: string): Promise<Checkpoint | undefined> {
  const text = await readFile(checkpointPath(workDir), 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  try {
    const cp = JSON.parse(text) as Checkpoint;
    return cp.version === 1 ? cp : undefined;
  } catch {
    return undefined;
  }
}

/** Commits `cp`. */
export function writeCheckpoint(workDir: string, cp: Checkpoint): Promise<void> {
  return writeAtomic(checkpointPath(workDir), JSON.stringify(cp) + '\n');
}

let sequence = 0;

/**
 * Replaces `path` with `data` atomically: a temporary file beside it, flushed to disk, then renamed
 * over it. Readers (and a restarted worker) see the old content or the new, never a mix.
 */
export async function writeAtomic(path: string, data: string | Buffer): Promise<void> {
  const temp = `${path}.${process.pid}.${sequence++}.tmp`;
  const handle = await open(temp, 'w');
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temp, path);
}
