/** Wharf's own version, read once from the package.json that ships with the code. */
import { readFileSync } from 'node:fs';

function findVersion(): string {
  // Works from both src/ (tests via tsx) and dist/src/ (compiled): walk up to the package root.
  for (const rel of ['../../package.json', '../../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === 'wharf' && pkg.version) return pkg.version;
    } catch {
      // not at this level; try the next
    }
  }
  return '0.0.0';
}

/** The running Wharf version, e.g. `0.1.0`. */
export const WHARF_VERSION = findVersion();
