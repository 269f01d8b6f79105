/**
 * Models: a name and its description; the artifacts live in model versions (`model-version.ts`).
 * Keyed by name.
 */
import { defineKind, keyPart, NO_INDEX } from './define-kind.js';
import type { Labels, StoredFields } from './stored.js';

/** A named model; its artifacts live in {@link ModelVersion}s. */
export interface Model extends StoredFields {
  /** Unique name, e.g. `readmission`. */
  name: string;
  description: string;
  labels: Labels;
}

/** Models in the store: keyed by name, listed whole. */
export const modelKind = defineKind<Model, string>()({
  kind: 'Model',
  collection: 'models',
  key: (name) => keyPart('name', name),
  idOfKey: (key) => key,
  id: (o) => o.name,
  index: () => NO_INDEX,
  filter: () => ({}),
});
