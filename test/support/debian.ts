/**
 * Makes Debian packages available to a test through the project's installer script. CI must run
 * every test, so a failed install fails the test, unless WHARF_ALLOW_SKIP=1 (a developer's machine
 * without root or network), where the test is skipped with the reason printed.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { REPO_ROOT } from './processes.js';

/**
 * Ensures `packages` are installed. Returns true when they are; otherwise skips `t` (if allowed)
 * and returns false, or throws.
 */
export function ensureDebianPackages(t: TestContext, packages: readonly string[]): boolean {
  const script = join(REPO_ROOT, 'scripts', 'ensure-debian-packages.sh');
  const result = spawnSync('bash', [script, ...packages], { encoding: 'utf8', timeout: 600_000 });
  if (result.status === 0) return true;
  const reason = `Debian packages ${packages.join(' ')} could not be installed: ${(result.stderr || String(result.error)).trim().split('\n').pop()}`;
  if (process.env.WHARF_ALLOW_SKIP === '1') {
    t.skip(reason);
    return false;
  }
  throw new Error(reason);
}
