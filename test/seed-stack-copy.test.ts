// The seed stack the tests carry (test/fixtures/seed-stack) is the shared peer baseline itself:
// byte-identical wherever the shared one is in sight, so a test that ran the copy ran the baseline.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { SEED_STACK_COPY, sharedSeedStack } from './support/seed-stack.js';

test('the carried seed stack equals shared/baselines/seed-stack', (t) => {
  const shared = sharedSeedStack();
  if (shared === undefined) return t.skip('no shared/baselines/seed-stack beside this checkout to compare with');
  for (const file of ['app.py', 'train.py'])
    assert.ok(
      readFileSync(join(SEED_STACK_COPY, file)).equals(readFileSync(join(shared, file))),
      `${file} differs from ${join(shared, file)}: copy it again`,
    );
});
