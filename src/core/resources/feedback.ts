/**
 * Feedback: outcomes reported for served requests, for A/B results. Keyed
 * `<deployment>/<requestId>`, listed by deployment.
 */
import { defineKind, keyPart, splitKey } from './define-kind.js';
import type { StoredFields } from './stored.js';

/** An outcome reported for one served request (A/B tests). */
export interface Feedback extends StoredFields {
  /** The deployment's id. */
  deployment: string;
  /** The `x-request-id` of the request the outcome is about. */
  requestId: string;
  /** The workload revision (variant) that answered it. */
  revision: number;
  /** 0/1 for conversions, or any number (e.g. revenue). */
  outcome: number;
  time: string;
  by: string;
}

/** What identifies a feedback record: one outcome per request. */
export interface FeedbackId {
  deployment: string;
  requestId: string;
}

/** Feedback in the store: keyed `<deployment>/<requestId>`, indexed (`parent`) by deployment. */
export const feedbackKind = defineKind<Feedback, FeedbackId, { deployment?: string }>()({
  kind: 'Feedback',
  collection: 'feedback',
  key: (id) => `${keyPart('deployment', id.deployment)}/${keyPart('requestId', id.requestId)}`,
  idOfKey: (key) => {
    const [deployment, requestId] = splitKey(key);
    return { deployment, requestId };
  },
  id: (o) => ({ deployment: o.deployment, requestId: o.requestId }),
  index: (o) => ({ environment: null, parent: o.deployment }),
  filter: (f) => (f.deployment === undefined ? {} : { parent: f.deployment }),
});
