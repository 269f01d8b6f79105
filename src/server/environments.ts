/** The environments every installation starts with. */
import type { Store } from '../store/store.js';
import { AlreadyExistsError } from '../store/errors.js';

const DEFAULTS = [
  { name: 'development', requiresApproval: false },
  { name: 'staging', requiresApproval: false },
  { name: 'production', requiresApproval: false },
];

/** Creates `development`, `staging` and `production` when missing (idempotent, safe to race). */
export async function ensureEnvironments(store: Store): Promise<void> {
  for (const env of DEFAULTS) {
    try {
      await store.environments.create({
        name: env.name,
        runtime: 'local',
        policies: { requiresApproval: env.requiresApproval },
        labels: {},
      });
    } catch (err) {
      if (!(err instanceof AlreadyExistsError)) throw err;
    }
  }
}
