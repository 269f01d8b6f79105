/**
 * Revisions: the immutable, numbered snapshots of a deployment's spec. Keyed
 * `<deployment>/<zero-padded number>` so that key order is numeric order; append-only.
 */
import { InvalidArgumentError } from '../errors.js';
import { defineKind, keyPart, splitKey } from './define-kind.js';
import type { DeploymentSpec } from './deployment.js';
import type { StoredFields } from './stored.js';

/** An immutable, numbered snapshot of a deployment's spec; rollback makes an old one current. */
export interface Revision extends StoredFields {
  /** The {@link Deployment}'s id. */
  deployment: string;
  /** 1, 2, 3 … per deployment. */
  number: number;
  spec: DeploymentSpec;
  createdAt: string;
  createdBy: string;
  /** Why it was made, e.g. `spec changed: configuration.replicas`, `rollback to 3`. */
  reason: string;
}

/** What identifies a revision. */
export interface RevisionId {
  deployment: string;
  number: number;
}

// Revision numbers are zero-padded in keys so that key order is numeric order.
const REVISION_DIGITS = 10;

function revisionNumber(value: number): string {
  if (!Number.isSafeInteger(value) || value < 1)
    throw new InvalidArgumentError(`number: must be a positive integer, got ${value}`);
  return String(value).padStart(REVISION_DIGITS, '0');
}

/** Revisions in the store: keyed `<deployment>/<number>`, indexed (`parent`) by deployment, never updated. */
export const revisionKind = defineKind<Revision, RevisionId, { deployment?: string }>()({
  kind: 'Revision',
  collection: 'revisions',
  appendOnly: true,
  key: (id) => `${keyPart('deployment', id.deployment)}/${revisionNumber(id.number)}`,
  idOfKey: (key) => {
    const [deployment, number] = splitKey(key);
    return { deployment, number: Number(number) };
  },
  id: (o) => ({ deployment: o.deployment, number: o.number }),
  index: (o) => ({ environment: null, parent: o.deployment }),
  filter: (f) => (f.deployment === undefined ? {} : { parent: f.deployment }),
});
