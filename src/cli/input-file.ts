/** Reading a file named on the command line, with a message that names it instead of a raw ENOENT. */
import { readFile, stat } from 'node:fs/promises';
import { usageError } from './exit-codes.js';

/** What went wrong with `file`, said for a person (`file not found: PATH`), as a usage error. */
function fileProblem(file: string, error: unknown): Error {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return usageError(`file not found: ${file}`);
  if (code === 'EISDIR') return usageError(`not a file but a folder: ${file}`);
  if (code === 'EACCES' || code === 'EPERM') return usageError(`no permission to read: ${file}`);
  return usageError(`cannot read ${file}: ${(error as Error).message}`);
}

/** The text of `file`. */
export async function readInputText(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    throw fileProblem(file, error);
  }
}

/** The size of `file`, which must be a readable regular file (checked before it is streamed). */
export async function inputFileSize(file: string): Promise<number> {
  try {
    const s = await stat(file);
    if (s.isDirectory()) throw Object.assign(new Error('is a directory'), { code: 'EISDIR' });
    return s.size;
  } catch (error) {
    throw fileProblem(file, error);
  }
}
