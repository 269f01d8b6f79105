/**
 * The `application` workload kind (`type: application`): any HTTP server started by a command
 * (locally, inside a pushed bundle) or an image (Kubernetes). It must listen on `$PORT` (`$(PORT)`
 * in an argument is replaced by it); its replicas are probed over HTTP on `/healthz` unless the
 * spec's `healthCheck.path` (and `livenessPath`) name their own, and the gateway serves it under
 * `/<environment>/<name>/…`. Spec rules and the workload are shared with workers
 * (`../command-spec.ts`).
 */
import { InvalidArgumentError } from '../../core/errors.js';
import { commandWorkload, validateCommandSpec } from '../command-spec.js';
import type { WorkloadKind } from '../workload-kind.js';

/** Where an application answers health checks when its spec names no path of its own. */
export const APPLICATION_PROBE_PATHS = { readiness: '/healthz', liveness: '/healthz' } as const;

/** See the module comment. */
export const applicationKind: WorkloadKind = {
  name: 'application',
  type: 'application',
  probes: APPLICATION_PROBE_PATHS,
  artifactExtension: '.tar.gz',
  validateSpec(spec) {
    validateCommandSpec(spec, { type: 'application', listens: true });
  },
  artifactOf() {
    return undefined;
  },
  bundleOf(spec) {
    return spec.bundle;
  },
  buildWorkload(source) {
    return commandWorkload(source, APPLICATION_PROBE_PATHS, 'http');
  },
  readSignature() {
    return Promise.reject(new InvalidArgumentError('artifact: an application has no model signature to read'));
  },
};
