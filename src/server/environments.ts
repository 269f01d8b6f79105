/** The environments every installation starts with. */
import type { Store } from '../store/store.js';
import { AlreadyExistsError } from '../store/errors.js';

const DEFAULTS = [
  { name: 'development', requiresApproval: false },
  { name: 'staging', requiresApproval: false },
  { name: 'production', requiresApproval: false },
  // Disaster recovery: gateways send a production deployment's requests to its namesake here while
  // production has no ready replica (see core/failover.ts).
  { name: 'dr', requiresApproval: false, failoverFor: 'production' },
];

/** Creates `development`, `staging`, `production` and `dr` (standing in for production) when missing (idempotent, safe to race). */
export async function ensureEnvironments(store: Store): Promise<void> {
  for (const env of DEFAULTS) {
    try {
      await store.environments.create({
        name: env.name,
        runtime: 'local',
        policies: { requiresApproval: env.requiresApproval },
        labels: {},
        ...('failoverFor' in env ? { failoverFor: env.failoverFor } : {}),
      });
    } catch (err) {
      if (!(err instanceof AlreadyExistsError)) throw err;
    }
  }
}
