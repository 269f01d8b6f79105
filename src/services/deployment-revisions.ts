/**
 * A deployment's history: its revisions, the field-level diff of two of them, and rollback (a NEW
 * revision with the spec of an earlier one; its phase reads `rolling-back` until it is ready).
 */
import { rollbackReason } from '../core/deployment-identity.js';
import { hasErrorCode, InvalidArgumentError, NotFoundError } from '../core/errors.js';
import { type Deployment, deploymentSpec, type Revision } from '../core/resources.js';
import { diffSpecs, type FieldChange, jsonEqual, renderDiff } from '../core/revision-diff.js';
import type { Page, Store } from '../store/store.js';
import type { ChangeOptions, Decide, PageOptions } from './deployment-changes.js';
import type { ModelVersionCheck } from './model-version-check.js';

/** Two revisions compared field by field. */
export interface RevisionDiff {
  from: number;
  to: number;
  changes: FieldChange[];
  /** One line per change, e.g. `configuration.replicas: 2 → 3`. */
  text: string;
}

/** The revisions of `deployment`, oldest first. */
export function listRevisions(store: Store, deployment: Deployment, page: PageOptions = {}): Promise<Page<Revision>> {
  return store.revisions.list({ deployment: deployment.id, ...page });
}

/** Revision `number` of `deployment`; `NOT_FOUND` if there is none. */
export async function getRevision(store: Store, deployment: Deployment, number: number): Promise<Revision> {
  if (!Number.isSafeInteger(number) || number < 1)
    throw new InvalidArgumentError(`revision: must be a positive integer, got ${JSON.stringify(number)}`);
  return store.revisions.get({ deployment: deployment.id, number }).catch((e: unknown) => {
    throw hasErrorCode(e, 'NOT_FOUND')
      ? new NotFoundError(
          `deployment ${JSON.stringify(deployment.name)} in ${JSON.stringify(deployment.environment)} has no revision ${number}`,
        )
      : e;
  });
}

/** What changed from revision `from` (read as `a`) to revision `to` (read as `b`). */
export function revisionDiff(from: number, to: number, a: Revision, b: Revision): RevisionDiff {
  const changes = diffSpecs(a.spec, b.spec);
  return { from, to, changes, text: renderDiff(changes) };
}

/** The rollback decision (see deployment-changes.ts): to `toRevision`, default the one before the current. */
export function rollbackChange(models: ModelVersionCheck, options: ChangeOptions & { toRevision?: number }): Decide {
  return async (current, tx) => {
    const to = options.toRevision ?? current.revision - 1;
    if (!Number.isInteger(to) || to < 1 || to >= current.revision) {
      const rule =
        current.revision === 1
          ? 'there is no earlier revision to roll back to'
          : `must be an earlier revision, from 1 to ${current.revision - 1}`;
      throw new InvalidArgumentError(`toRevision: ${rule}, got ${JSON.stringify(options.toRevision ?? to)}`);
    }
    const target = await tx.revisions.get({ deployment: current.id, number: to });
    await models.check(tx, target.spec, 'toRevision');
    if (jsonEqual(target.spec, deploymentSpec(current))) return undefined;
    const reason = rollbackReason(to) + (options.reason === undefined ? '' : `: ${options.reason}`);
    return {
      spec: structuredClone(target.spec),
      reason,
      event: { type: 'Normal', reason: 'RolledBack', message: reason },
    };
  };
}
