/**
 * Model versions: a semver version of a model with its immutable, content-addressed artifact and its
 * tensor signature. Keyed `<model>/<version>`, listed by model.
 */
import { defineKind, keyPart, splitKey } from './define-kind.js';
import type { Labels, StoredFields } from './stored.js';

/** One input or output tensor of a model, as in the Open Inference Protocol's metadata. */
export interface TensorSpec {
  name: string;
  /** Protocol datatype, e.g. `FP32`, `INT64`, `BYTES`. */
  datatype: string;
  /** Dimensions; `-1` is a dimension of any size (usually the batch). */
  shape: number[];
}

/** A content-addressed artifact; never changes once stored. */
export interface Artifact {
  /** `sha256:` followed by 64 lowercase hex digits. */
  digest: `sha256:${string}`;
  /** Size in bytes. */
  size: number;
  /** The file name it was uploaded as, e.g. `model.onnx`. */
  filename: string;
}

/** Where a model version came from. */
export interface ModelSource {
  /** e.g. a git remote URL. */
  repository?: string;
  /** e.g. a git commit hash. */
  commit?: string;
}

/** A semver version of a model with its immutable artifact and its signature. */
export interface ModelVersion extends StoredFields {
  /** The {@link Model}'s name. */
  model: string;
  /** Semantic version, e.g. `1.4.0`. */
  version: string;
  artifact: Artifact;
  signature: { inputs: TensorSpec[]; outputs: TensorSpec[] };
  labels: Labels;
  /** Evaluation figures recorded at push (e.g. `{ auc: 0.91 }`), read by admission policies. */
  metrics?: Record<string, number>;
  source?: ModelSource;
  createdAt: string;
}

/** What identifies a model version. */
export interface ModelVersionId {
  model: string;
  version: string;
}

/** Model versions in the store: keyed `<model>/<version>`, indexed (`parent`) by model. */
export const modelVersionKind = defineKind<ModelVersion, ModelVersionId, { model?: string }>()({
  kind: 'ModelVersion',
  collection: 'modelVersions',
  key: (id) => `${keyPart('model', id.model)}/${keyPart('version', id.version)}`,
  idOfKey: (key) => {
    const [model, version] = splitKey(key);
    return { model, version };
  },
  id: (o) => ({ model: o.model, version: o.version }),
  index: (o) => ({ environment: null, parent: o.model }),
  filter: (f) => (f.model === undefined ? {} : { parent: f.model }),
});
