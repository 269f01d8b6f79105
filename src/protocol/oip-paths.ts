/**
 * The Open Inference Protocol (KServe v2) paths a model server answers and the gateway forwards,
 * and the probe paths every engine checks: each spelled once, here. Pure constants and builders.
 *
 * @example
 *   OIP_PATHS.ready                      // '/v2/health/ready'
 *   modelInferPath('readmission')        // '/v2/models/readmission/infer'
 */

/** The protocol's root: every Open Inference Protocol path starts with it. */
export const OIP_ROOT = '/v2';
/** The prefix of the per-model paths: `/v2/models/{name}[/versions/{version}][/ready|/infer]`. */
export const OIP_MODELS_PREFIX = `${OIP_ROOT}/models/`;

/** The server-level paths. */
export const OIP_PATHS = {
  /** Server metadata (also answered with a trailing slash). */
  server: OIP_ROOT,
  live: `${OIP_ROOT}/health/live`,
  ready: `${OIP_ROOT}/health/ready`,
} as const;

/** Probe paths of a model server: readiness and liveness. */
export const MODEL_PROBE_PATHS = { readiness: OIP_PATHS.ready, liveness: OIP_PATHS.live } as const;

/** `/v2/models/{name}`: the model's metadata; `name` is URL-encoded. */
export function modelPath(name: string): string {
  return `${OIP_MODELS_PREFIX}${encodeURIComponent(name)}`;
}

/** `/v2/models/{name}/infer`: where an inference request is posted; `name` is URL-encoded. */
export function modelInferPath(name: string): string {
  return `${modelPath(name)}/infer`;
}
