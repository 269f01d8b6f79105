/**
 * The copy of every signed audit checkpoint outside the database: `$WHARF_HOME/audit-checkpoints.jsonl`,
 * one JSON object per line, appended and fsynced. Someone who deletes the tail of the chain and
 * rewinds its head in the database (and its checkpoints there) still leaves these lines, which the
 * verifier holds the chain to. A `kill -9` during an append can leave a torn last line: it is skipped.
 */
import { open, readFile } from 'node:fs/promises';
import type { AuditCheckpoint } from '../../core/resources/audit-event.js';

/** A checkpoint without the store's field. */
export type CheckpointRecord = Omit<AuditCheckpoint, 'resourceVersion'>;

/** Appends one checkpoint as a line and fsyncs the file. */
export async function appendCheckpointLine(path: string, checkpoint: CheckpointRecord): Promise<void> {
  const { seq, hash, time, keyId, signature } = checkpoint;
  const file = await open(path, 'a', 0o600);
  try {
    await file.appendFile(`${JSON.stringify({ seq, hash, time, keyId, signature })}\n`);
    await file.sync();
  } finally {
    await file.close();
  }
}

function isCheckpoint(value: unknown): value is CheckpointRecord {
  const v = value as Record<string, unknown> | null;
  return (
    typeof v === 'object' &&
    v !== null &&
    Number.isSafeInteger(v.seq) &&
    typeof v.hash === 'string' &&
    typeof v.time === 'string' &&
    typeof v.keyId === 'string' &&
    typeof v.signature === 'string'
  );
}

/** Every well-formed checkpoint line of the file (none when it does not exist). */
export async function readCheckpointFile(path: string): Promise<CheckpointRecord[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  const out: CheckpointRecord[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      const parsed: unknown = JSON.parse(line);
      if (isCheckpoint(parsed)) out.push(parsed);
    } catch {
      // a torn line (an append cut by kill -9): nothing was acknowledged by it
    }
  }
  return out;
}
