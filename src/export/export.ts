/**
 * `wharf export`: the files that deploy one revision without Wharf's controllers, in one of the
 * {@link EXPORT_FORMATS}. Rendering is pure ({@link exportFiles}); {@link writeExport} writes the
 * files under a directory, refusing to overwrite a file that is not its own output's.
 *
 * @example
 *   const files = exportFiles('helm', { workload, namespace: 'ml-prod', manifests: { registryUrl } });
 *   await writeExport('./out', files);
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { composeExport } from './compose-export.js';
import type { ExportFormat, ExportInput } from './export-source.js';
import { helmExport } from './helm-export.js';
import { manifestsExport, terraformExport } from './plain-exports.js';

export {
  EXPORT_FORMATS,
  type ExportFormat,
  type ExportInput,
  exportWorkload,
  parseExportFormat,
} from './export-source.js';

/** Relative path → content of every file of the export. */
export function exportFiles(format: ExportFormat, input: ExportInput): Map<string, string> {
  switch (format) {
    case 'manifests':
      return manifestsExport(input);
    case 'helm':
      return helmExport(input);
    case 'compose':
      return composeExport(input);
    case 'terraform':
      return terraformExport(input);
  }
}

/** Writes `files` under `dir` (created as needed); returns the paths written. */
export async function writeExport(dir: string, files: Map<string, string>): Promise<string[]> {
  const root = resolve(dir);
  const written: string[] = [];
  for (const [relative, content] of files) {
    const path = resolve(join(root, relative));
    if (!path.startsWith(root + sep)) throw new Error(`export: ${relative} is outside ${root}`);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, content);
    written.push(path);
  }
  return written;
}
