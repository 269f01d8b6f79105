/**
 * Incidents: rollouts that went wrong and were stopped automatically (or similar operational facts).
 * Keyed by id (which sorts by time), indexed by environment and deployment name; append-only.
 */
import { defineKind, keyPart } from './define-kind.js';
import type { StoredFields } from './stored.js';

/** A rollout that went wrong and was stopped automatically (or a similar operational fact). */
export interface Incident extends StoredFields {
  /** Sorts by time: `<ISO time>-<random>`. */
  id: string;
  environment: string;
  /** The deployment's name and id. */
  deploymentName: string;
  deployment: string;
  /** The deployment revision being rolled out. */
  revision: number;
  time: string;
  /** CamelCase, e.g. `RolloutAborted`. */
  reason: string;
  /** What happened, with the analysis result. */
  message: string;
}

/** What a list of incidents filters by. */
export interface IncidentFilter {
  environment?: string;
  /** `deploymentName` alone matches that name in every environment. */
  deploymentName?: string;
}

/** Incidents in the store: keyed by id, indexed by environment and (`parent`) deployment name, never updated. */
export const incidentKind = defineKind<Incident, string, IncidentFilter>()({
  kind: 'Incident',
  collection: 'incidents',
  appendOnly: true,
  key: (id) => keyPart('id', id),
  idOfKey: (key) => key,
  id: (o) => o.id,
  // The deployment's name, not its id (`<environment>.<name>`): with `environment` it selects the
  // same incidents as the id would, and alone it finds the name in every environment.
  index: (o) => ({ environment: o.environment, parent: o.deploymentName }),
  filter: (f) => ({
    ...(f.environment === undefined ? {} : { environment: f.environment }),
    ...(f.deploymentName === undefined ? {} : { parent: f.deploymentName }),
  }),
});
