/**
 * Reads and checks the task file a worker is started with (`wharf job-worker --task FILE`). A task
 * that breaks a rule is refused before any row is read, with the field and the rule named, so the
 * controller can record it as the job's failure instead of restarting a worker that cannot work.
 */
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import type { BatchTask } from '../protocol/batch-task.js';

/** The task file is missing, not JSON, or breaks a rule of the contract; exit code `invalidTask`. */
export class InvalidTaskError extends Error {
  override readonly name = 'InvalidTaskError';
  readonly code = 'INVALID_TASK';
}

const nonEmpty = z.string().min(1);
const schema = z
  .object({
    jobId: nonEmpty,
    model: z.object({ name: nonEmpty, version: nonEmpty, artifactPath: nonEmpty, digest: nonEmpty }),
    input: z.object({
      url: nonEmpty,
      format: z.enum(['jsonl', 'csv']),
      compression: z.enum(['auto', 'gzip', 'none']).optional(),
      columns: z.array(nonEmpty).min(1).optional(),
      idField: nonEmpty.optional(),
    }),
    output: z.object({
      url: nonEmpty,
      format: z.enum(['jsonl', 'csv']),
      joinColumns: z.array(nonEmpty).optional(),
    }),
    batchSize: z.number().int().min(1).max(1_000_000),
    concurrency: z.number().int().min(1).max(256),
    errorThreshold: z.object({
      count: z.number().int().min(0).optional(),
      percent: z.number().min(0).max(100).optional(),
    }),
    batchTimeoutMs: z.number().int().min(1),
    retries: z.number().int().min(0).max(100),
    shard: z
      .object({ index: z.number().int().min(0), count: z.number().int().min(1) })
      .refine((s) => s.index < s.count, { message: 'index must be below count', path: ['index'] })
      .optional(),
    workDir: nonEmpty,
  })
  .passthrough();

/** Checks a parsed task against the contract; throws {@link InvalidTaskError} naming the field. */
export function parseTask(value: unknown): BatchTask {
  const result = schema.safeParse(value);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const field = issue.path.length > 0 ? issue.path.join('.') : '(task)';
    throw new InvalidTaskError(`task ${field}: ${issue.message}`);
  }
  return result.data as BatchTask;
}

/** Reads `file` and checks it with {@link parseTask}. */
export async function readTask(file: string): Promise<BatchTask> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new InvalidTaskError(`task file ${file} cannot be read: ${(err as NodeJS.ErrnoException).code ?? err}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new InvalidTaskError(`task file ${file} is not JSON: ${(err as Error).message}`);
  }
  return parseTask(value);
}
