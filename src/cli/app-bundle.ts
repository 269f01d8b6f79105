/**
 * Making the bundle `wharf app push` uploads: the files of a folder (without `.git` and what its
 * `.wharfignore` leaves out, see `wharfignore.ts`) as a gzip'd tar. Reproducible: files in name
 * order, portable headers (no owner names, no pax times) and one fixed mtime, so pushing the same
 * folder twice gives the same digest. A folder's own ignored children are never walked.
 */
import { lstat, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { create } from 'tar';
import { parseWharfignore } from './wharfignore.js';

/** The paths (relative, '/'-separated, sorted) of `dir` that go into its bundle. */
export async function bundleFiles(dir: string): Promise<string[]> {
  const text = await readFile(join(dir, '.wharfignore'), 'utf8').catch(() => '');
  const ignored = parseWharfignore(text);
  const out: string[] = [];
  const walk = async (rel: string): Promise<void> => {
    const names = (await readdir(rel === '' ? dir : join(dir, rel))).sort();
    for (const name of names) {
      const path = rel === '' ? name : `${rel}/${name}`;
      const info = await lstat(join(dir, path));
      if (ignored(path, info.isDirectory())) continue;
      if (info.isDirectory()) await walk(path);
      else if (info.isFile() || info.isSymbolicLink()) out.push(path);
    }
  };
  await walk('');
  return out;
}

/** Writes the bundle of `dir` to `file`; returns how many files it holds. */
export async function packBundle(dir: string, file: string): Promise<number> {
  const files = await bundleFiles(dir);
  if (files.length === 0) throw new Error(`${dir}: no file to bundle (is everything in .wharfignore?)`);
  await create({ gzip: true, file, cwd: dir, portable: true, mtime: new Date(0), noDirRecurse: true }, files);
  return files.length;
}
