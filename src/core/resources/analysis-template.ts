/**
 * Stored analysis templates (the built-in ones live in `core/analysis`, which also validates the
 * body). Keyed by name.
 */
import { defineKind, keyPart, NO_INDEX } from './define-kind.js';
import type { StoredFields } from './stored.js';

/** A named analysis template (see `core/analysis`); its body is validated there. */
export interface AnalysisTemplateResource extends StoredFields {
  name: string;
  /** The template document as validated (name, description, args, metrics). */
  template: Record<string, unknown>;
  updatedAt: string;
  updatedBy: string;
}

/** Analysis templates in the store: keyed by name, listed whole. */
export const analysisTemplateKind = defineKind<AnalysisTemplateResource, string>()({
  kind: 'AnalysisTemplate',
  collection: 'analysisTemplates',
  key: (name) => keyPart('name', name),
  idOfKey: (key) => key,
  id: (o) => o.name,
  index: () => NO_INDEX,
  filter: () => ({}),
});
