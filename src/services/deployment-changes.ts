/**
 * How every change to an existing deployment is written: read-modify-write in ONE store transaction.
 * A use case decides the change from the current document ({@link Modification}); this module
 * checks the asked-for `resourceVersion` and deletion, admits a new spec against the environment's
 * policies (`admission.ts`), then writes the deployment, a new immutable
 * revision when the spec changed (revision number + 1, who, why) and an event. A decision of
 * `undefined` (nothing to do) writes nothing.
 */
import { deletionRequestedAt } from '../core/deployment-identity.js';
import { hasErrorCode, InvalidArgumentError } from '../core/errors.js';
import type { Deployment, DeploymentSpec } from '../core/resources.js';
import { ConflictError } from '../store/errors.js';
import type { Store, StoreCollections } from '../store/store.js';
import { admit, environmentOf } from './admission.js';
import { type EventInput, newEvent } from './deployment-events.js';
import { actorOf, getDeployment } from './deployment-lookup.js';

/** Who makes a change and why. */
export interface ChangeOptions {
  /** The user or token making the change; recorded on the revision and as `deployedBy`. */
  actor: string;
  /** Why; recorded on the revision (a default describes the change). */
  reason?: string;
  /** Apply only if the deployment's `resourceVersion` is still this (else `CONFLICT`). */
  expectedResourceVersion?: number;
}

/** Paging of list calls. */
export interface PageOptions {
  limit?: number;
  continue?: string;
}

/** What a modification decides. `undefined` from the callback means "nothing to do". */
export interface Modification {
  spec?: DeploymentSpec;
  metadata?: Deployment['metadata'];
  reason: string;
  event: EventInput;
  /** Replaces the whole document (deletion marking). */
  document?: Deployment;
}

/** Decides a change from the current deployment, reading more through `tx` if it needs to. */
export type Decide = (current: Deployment, tx: StoreCollections) => Promise<Modification | undefined>;

/** Retries of a change that met a concurrent write (e.g. a status update) when no version was asked for. */
const CONFLICT_RETRIES = 3;

/**
 * Read-modify-write of one deployment in one transaction. Without `expectedResourceVersion`, a
 * conflict with a concurrent writer (usually the controller's status) is retried on fresh data.
 */
export async function modifyDeployment(
  store: Store,
  now: () => string,
  name: string,
  environment: string,
  options: ChangeOptions & { allowDeleting?: boolean },
  decide: Decide,
): Promise<Deployment> {
  actorOf(options);
  for (let attempt = 0; ; attempt++) {
    try {
      return await store.transaction(async (tx) => {
        const current = await getDeployment(tx, name, environment);
        const expected = options.expectedResourceVersion;
        if (expected !== undefined && expected !== current.resourceVersion)
          throw new ConflictError('Deployment', current.id, expected, current.resourceVersion);
        if (!options.allowDeleting && deletionRequestedAt(current) !== undefined) {
          throw new InvalidArgumentError(
            `name: deployment ${JSON.stringify(name)} in ${JSON.stringify(environment)} is being deleted`,
          );
        }
        const change = await decide(current, tx);
        if (change === undefined) return current;
        // A new spec passes the environment's admission policies first (deletion marking has none).
        if (change.spec !== undefined && change.document === undefined)
          await admit(tx, await environmentOf(tx, environment), change.spec, current);
        return write(tx, now(), current, change, options.actor);
      });
    } catch (error) {
      if (
        hasErrorCode(error, 'CONFLICT') &&
        options.expectedResourceVersion === undefined &&
        attempt < CONFLICT_RETRIES
      )
        continue;
      throw error;
    }
  }
}

/** Writes a decided change: the document and an event, plus a revision when the spec changed. */
async function write(
  tx: StoreCollections,
  now: string,
  current: Deployment,
  change: Modification,
  actor: string,
): Promise<Deployment> {
  const base = change.document ?? {
    ...current,
    metadata: { ...(change.metadata ?? current.metadata), updated: now },
  };
  if (change.spec === undefined) {
    const updated = await tx.deployments.update(base);
    await tx.events.create(newEvent(current.id, now, change.event));
    return updated;
  }
  const number = current.revision + 1;
  const metadata = { ...base.metadata, deployedBy: actor };
  const updated = await tx.deployments.update({ ...base, ...change.spec, revision: number, metadata });
  await tx.revisions.create({
    deployment: current.id,
    number,
    spec: change.spec,
    createdAt: now,
    createdBy: actor,
    reason: change.reason,
  });
  await tx.events.create(
    newEvent(current.id, now, {
      ...change.event,
      message: `revision ${number} by ${actor}: ${change.event.message}`,
    }),
  );
  return updated;
}
