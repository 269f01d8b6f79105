/**
 * Approvals: changes to an environment that requires approval, waiting for (or decided by) an
 * approver. Keyed by id (which sorts by time), indexed by environment and state.
 */
import { defineKind, keyPart } from './define-kind.js';
import type { StoredFields } from './stored.js';

/** Who asked for or decided a change: the principal's stable id (compared) and its name (shown). */
export interface ApprovalParty {
  id: string;
  name: string;
}

/** A change to an environment that requires approval, waiting for (or decided by) an approver. */
export interface Approval extends StoredFields {
  /** Sorts by time: `<ISO time>-<random>`. */
  id: string;
  environment: string;
  /** The deployment the change is for; empty for a change to the environment itself (`set-policy`). */
  deploymentName: string;
  /** What is asked, e.g. `create`, `update`, `scale`, `rollback`, `promote`, `delete`, `set-policy`. */
  action: string;
  /** The change itself, replayed when approved. */
  request: Record<string, unknown>;
  /** A readable summary of the change. */
  summary: string;
  /** The requester's name, as people read it. */
  requestedBy: string;
  /** The requester as authenticated: four-eyes compares {@link ApprovalParty.id}, never the name. */
  requester?: ApprovalParty;
  requestedAt: string;
  reason?: string;
  state: 'pending' | 'approved' | 'rejected' | 'failed';
  /** The decider's name. */
  decidedBy?: string;
  /** The decider as authenticated. */
  decider?: ApprovalParty;
  decidedAt?: string;
  comment?: string;
  /** After approval: the revision it made, or why applying it failed. */
  result?: string;
}

/** Approvals in the store: keyed by id, indexed by environment and (`parent`) state. */
export const approvalKind = defineKind<Approval, string, { environment?: string; state?: string }>()({
  kind: 'Approval',
  collection: 'approvals',
  key: (id) => keyPart('id', id),
  idOfKey: (key) => key,
  id: (o) => o.id,
  // The state, so a listing filters by it in the query, before paging (migration 0002).
  index: (o) => ({ environment: o.environment, parent: o.state }),
  filter: (f) => ({
    ...(f.environment === undefined ? {} : { environment: f.environment }),
    ...(f.state === undefined ? {} : { parent: f.state }),
  }),
});
