/**
 * Where the tests find the seed stack (the FastAPI + scikit-learn peer baseline): the folder
 * `$WHARF_BASELINES_DIR/seed-stack`, else `../shared/baselines/seed-stack` beside the repository,
 * else the copy the tests carry (`test/fixtures/seed-stack`, kept identical by
 * `seed-stack-copy.test.ts`), so the tests that need it run on any checkout.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { REPO_ROOT } from './processes.js';

/** The carried copy. */
export const SEED_STACK_COPY = join(REPO_ROOT, 'test', 'fixtures', 'seed-stack');

/** The shared baseline's folder when this checkout can see one, else undefined. */
export function sharedSeedStack(): string | undefined {
  const dir = resolve(process.env.WHARF_BASELINES_DIR ?? join(REPO_ROOT, '..', 'shared', 'baselines'), 'seed-stack');
  return existsSync(join(dir, 'app.py')) && existsSync(join(dir, 'train.py')) ? dir : undefined;
}

/** The seed stack to run: the shared one, else the carried copy. */
export function seedStackDir(): string {
  return sharedSeedStack() ?? SEED_STACK_COPY;
}
