/**
 * The `onnx-model` workload kind (`type: model`): a pushed ONNX model version served by
 * `wharf serve-model` replicas over the Open Inference Protocol. Its spec names the model version
 * (`model: {name, version}`), its probes are the model server's health endpoints, and a pushed
 * artifact is valid when ONNX Runtime loads it.
 */
import { fail } from '../../core/validation.js';
import { MODEL_PROBE_PATHS } from '../../protocol/oip-paths.js';
import type { WorkloadKind } from '../workload-kind.js';
import { readOnnxSignature } from './onnx-signature.js';
import { desiredWorkload } from './onnx-workload.js';

/** See the module comment. */
export const onnxModelKind: WorkloadKind = {
  name: 'onnx-model',
  type: 'model',
  probes: MODEL_PROBE_PATHS,
  artifactExtension: '.onnx',
  validateSpec(spec) {
    if (spec.bundle !== undefined)
      fail('bundle', "is for type 'application' or 'worker': a model deployment serves model: {name, version}");
    for (const field of ['command', 'args', 'workingDir', 'port', 'protocol', 'healthCommand'] as const) {
      if (spec.configuration[field] !== undefined)
        fail(
          `configuration.${field}`,
          "is for type 'application' or 'worker': a model deployment runs the model server",
        );
    }
    if (spec.model === undefined) fail('model', "is required for type 'model'");
    const model: unknown = spec.model;
    if (typeof model !== 'object' || model === null || Array.isArray(model)) fail('model', 'must be an object', model);
    const { name, version } = model as Record<string, unknown>;
    segment(name, 'model.name');
    segment(version, 'model.version');
  },
  artifactOf(spec) {
    return spec.model;
  },
  buildWorkload(source) {
    const { modelVersion, artifactPath } = source;
    // The reconciler and the exports always resolve the version first; a caller that did not has a bug.
    if (modelVersion === undefined || artifactPath === undefined)
      throw new Error(`${onnxModelKind.name}: a workload needs its model version and artifact path`);
    return desiredWorkload({ ...source, modelVersion, artifactPath });
  },
  readSignature: readOnnxSignature,
};

// A path segment of the registry's URLs: a non-empty string without '/'.
function segment(value: unknown, field: string): void {
  if (typeof value !== 'string' || value === '') fail(field, 'must be a non-empty string', value);
  if (value.includes('/')) fail(field, "must not contain '/'", value);
}
