/**
 * The `worker` workload kind (`type: worker`): a command that consumes work (a Celery worker, a
 * queue consumer) and listens on no port: no endpoint, no route, no HTTP probes. A replica is
 * ready while its process runs and its `healthCommand` (if any) exits 0; on SIGTERM it has
 * `terminationGracePeriod` seconds (default 30) to finish the task at hand before SIGKILL, which
 * rolling updates wait for. Spec rules and the workload are shared with applications
 * (`../command-spec.ts`).
 */
import { InvalidArgumentError } from '../../core/errors.js';
import { fail } from '../../core/validation.js';
import { commandWorkload, validateCommandSpec } from '../command-spec.js';
import type { WorkloadKind } from '../workload-kind.js';

/**
 * A worker answers no HTTP: these only fill the spec's required `healthCheck.path`, and no probe
 * ever requests them (the workload says `serves: 'none'`).
 */
export const WORKER_PROBE_PATHS = { readiness: '/', liveness: '/' } as const;

/** Strategies that move traffic between revisions: a worker takes none. */
const TRAFFIC_STRATEGIES = ['blue-green', 'canary', 'shadow', 'ab'];

/** See the module comment. */
export const workerKind: WorkloadKind = {
  name: 'worker',
  type: 'worker',
  probes: WORKER_PROBE_PATHS,
  artifactExtension: '.tar.gz',
  validateSpec(spec) {
    validateCommandSpec(spec, { type: 'worker', listens: false });
    const c = spec.configuration;
    if (c.auth !== undefined) fail('configuration.auth', "must not be set for type 'worker': it has no endpoint");
    if (c.rateLimit !== undefined)
      fail('configuration.rateLimit', "must not be set for type 'worker': it has no endpoint");
    const strategy: unknown = (spec.strategy as { type?: unknown } | undefined)?.type;
    if (typeof strategy === 'string' && TRAFFIC_STRATEGIES.includes(strategy))
      fail(
        'strategy.type',
        "must be 'rolling' or 'recreate' for type 'worker': a worker takes no traffic to shift",
        strategy,
      );
  },
  artifactOf() {
    return undefined;
  },
  bundleOf(spec) {
    return spec.bundle;
  },
  buildWorkload(source) {
    return commandWorkload(source, WORKER_PROBE_PATHS, 'none');
  },
  readSignature() {
    return Promise.reject(new InvalidArgumentError('artifact: a worker has no model signature to read'));
  },
};
