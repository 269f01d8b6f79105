/**
 * Service accounts: non-human principals (CI pipelines, jobs) that act through API tokens an admin
 * creates for them; they have no password. Keyed by name (lowercase, unique); the stable id
 * (`sa:<uid>`, random) is kept in the `parent` index column so one is found by id without a scan.
 */
import { defineKind, keyPart } from './define-kind.js';
import type { StoredFields } from './stored.js';

/** A service account as stored. */
export interface ServiceAccount extends StoredFields {
  /** Principal.id: `sa:<uid>`. */
  id: string;
  name: string;
  description: string;
  createdAt: string;
}

/** Service accounts in the store: keyed by name, findable by id. */
export const serviceAccountKind = defineKind<ServiceAccount, string, { id?: string }>()({
  kind: 'ServiceAccount',
  collection: 'serviceAccounts',
  key: (name) => keyPart('name', name),
  idOfKey: (key) => key,
  id: (o) => o.name,
  index: (o) => ({ environment: null, parent: o.id }),
  filter: (f) => (f.id === undefined ? {} : { parent: f.id }),
});
