/**
 * Deployment events: what happened to a deployment, for people reading its history. Keyed
 * `<deployment>/<id>` (ids sort by time); append-only.
 */
import { defineKind, keyPart, splitKey } from './define-kind.js';
import type { StoredFields } from './stored.js';

/** Something that happened to a deployment, for people reading its history. */
export interface DeploymentEvent extends StoredFields {
  /** The {@link Deployment}'s id. */
  deployment: string;
  /** Unique within the deployment; events list in `id` order, so make it sort by time. */
  id: string;
  time: string;
  type: 'Normal' | 'Warning';
  /** CamelCase, machine-readable, e.g. `ScaledUp`. */
  reason: string;
  message: string;
}

/** What identifies a deployment event. */
export interface DeploymentEventId {
  deployment: string;
  id: string;
}

/** Events in the store: keyed `<deployment>/<id>`, indexed (`parent`) by deployment, never updated. */
export const deploymentEventKind = defineKind<DeploymentEvent, DeploymentEventId, { deployment?: string }>()({
  kind: 'DeploymentEvent',
  collection: 'events',
  appendOnly: true,
  key: (id) => `${keyPart('deployment', id.deployment)}/${keyPart('id', id.id)}`,
  idOfKey: (key) => {
    const [deployment, id] = splitKey(key);
    return { deployment, id };
  },
  id: (o) => ({ deployment: o.deployment, id: o.id }),
  index: (o) => ({ environment: null, parent: o.deployment }),
  filter: (f) => (f.deployment === undefined ? {} : { parent: f.deployment }),
});
