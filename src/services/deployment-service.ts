/**
 * Deployments as users change them: create, update, scale, roll back, delete; revisions and events.
 * The API calls this; controllers act on what it writes.
 *
 * Every spec change is ONE store transaction: the deployment (revision number + 1), a new immutable
 * {@link Revision} (who, why) and an event. A change that leaves the spec as it is makes no revision.
 * A request that breaks a rule changes nothing and throws `INVALID_ARGUMENT` naming the field.
 * Deletion only marks the deployment; the deployment controller stops its replicas and then removes
 * the record (with its revisions and events).
 *
 * @example
 *   const service = new DeploymentService(store);
 *   await service.create({ name: 'readmission', environment: 'staging', model: { name: 'readmission', version: '1.4.0' } }, { actor: 'alice' });
 *   await service.scale('readmission', 'staging', 3, { actor: 'alice' });
 *   await service.rollback('readmission', 'staging', { actor: 'alice' });
 */
import {
  deletionRequestedAt,
  deploymentId,
  rollbackReason,
  withDeletionRequested,
} from '../core/deployment-identity.js';
import {
  applyPatch,
  type DeploymentInput,
  type DeploymentPatch,
  specFromInput,
  validateDeploymentName,
  validateMetadataInput,
} from '../core/deployment-spec.js';
import { autoscaled } from '../core/autoscaling/scaling-spec.js';
import { hasErrorCode, InvalidArgumentError, NotFoundError, unlessNotFound } from '../core/errors.js';
import {
  type Deployment,
  type DeploymentEvent,
  type DeploymentSpec,
  deploymentSpec,
  type Revision,
} from '../core/resources.js';
import { changedFields, diffSpecs, type FieldChange, jsonEqual, renderDiff } from '../core/revision-diff.js';
import { ConflictError } from '../store/errors.js';
import type { Page, Store, StoreCollections } from '../store/store.js';
import { type EventInput, newEvent } from './deployment-events.js';

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

/** Two revisions compared field by field. */
export interface RevisionDiff {
  from: number;
  to: number;
  changes: FieldChange[];
  /** One line per change, e.g. `configuration.replicas: 2 → 3`. */
  text: string;
}

/** Settings of {@link DeploymentService}. */
export interface DeploymentServiceOptions {
  /** Clock for timestamps. */
  now?: () => Date;
  /** Overrides the model-version check (default: the store's `modelVersions`); must not use this store. */
  modelVersionExists?(model: string, version: string): Promise<boolean>;
}

/** Rollout commands kept on a deployment (the engine remembers the last one it handled). */
const ROLLOUT_REQUESTS_KEPT = 20;

/** Retries of a change that met a concurrent write (e.g. a status update) when no version was asked for. */
const CONFLICT_RETRIES = 3;

/** What a modification decides. `undefined` from the callback means "nothing to do". */
interface Modification {
  spec?: DeploymentSpec;
  metadata?: Deployment['metadata'];
  reason: string;
  event: EventInput;
  /** Replaces the whole document (deletion marking). */
  document?: Deployment;
}

/** See the module comment. */
export class DeploymentService {
  readonly #store: Store;
  readonly #options: DeploymentServiceOptions;

  constructor(store: Store, options: DeploymentServiceOptions = {}) {
    this.#store = store;
    this.#options = options;
  }

  /** Creates a deployment and its revision 1. `ALREADY_EXISTS` if the name is taken in the environment. */
  async create(input: DeploymentInput, options: ChangeOptions): Promise<Deployment> {
    actorOf(options);
    if (typeof input !== 'object' || input === null) throw new InvalidArgumentError('body: must be an object');
    validateDeploymentName(input.name);
    environmentName(input.environment);
    const spec = specFromInput(input);
    const metadataInput = validateMetadataInput(input.metadata);
    await this.#checkModelOutside(spec);
    const now = this.#now();
    const id = deploymentId(input.environment, input.name);
    return this.#store.transaction(async (tx) => {
      await tx.environments.get(input.environment).catch((e: unknown) => {
        throw hasErrorCode(e, 'NOT_FOUND')
          ? new InvalidArgumentError(`environment: no environment named ${JSON.stringify(input.environment)}`)
          : e;
      });
      await this.#checkModelInside(tx, spec, 'model.version');
      const created = await tx.deployments.create({
        id,
        name: input.name,
        environment: input.environment,
        ...spec,
        revision: 1,
        status: {
          phase: 'deploying',
          conditions: [],
          message: 'waiting for the controller',
          readyReplicas: 0,
          observedRevision: 0,
        },
        endpoints: {},
        metadata: {
          created: now,
          updated: now,
          deployedBy: options.actor,
          project: metadataInput.project ?? 'default',
          labels: metadataInput.labels ?? {},
        },
      });
      await tx.revisions.create({
        deployment: id,
        number: 1,
        spec,
        createdAt: now,
        createdBy: options.actor,
        reason: options.reason ?? 'created',
      });
      // A size decided for an earlier deployment of the same name must not carry over to this one.
      await unlessNotFound(tx.autoscalers.delete(id));
      const what = `${spec.model?.name ?? spec.type} ${spec.model?.version ?? ''}`.trim();
      await tx.events.create(
        newEvent(id, now, {
          type: 'Normal',
          reason: 'Created',
          message: `revision 1 by ${options.actor}: ${what}, ${spec.configuration.replicas} replicas`,
        }),
      );
      return created;
    });
  }

  /** The deployment `name` in `environment`; `NOT_FOUND` if there is none. */
  get(name: string, environment: string): Promise<Deployment> {
    return getDeployment(this.#store, name, environment);
  }

  /** The deployments of one environment, in name order. */
  list(environment: string, page: PageOptions = {}): Promise<Page<Deployment>> {
    environmentName(environment);
    return this.#store.deployments.list({ environment, ...page });
  }

  /** Merges `patch` into the spec (and metadata); a new revision if the spec changed. */
  update(name: string, environment: string, patch: DeploymentPatch, options: ChangeOptions): Promise<Deployment> {
    return this.#modify(name, environment, options, async (current, tx) => {
      const spec = applyPatch(deploymentSpec(current), patch);
      const metadataInput = validateMetadataInput(patch?.metadata);
      const metadata = { ...current.metadata, ...metadataInput };
      const changes = diffSpecs(deploymentSpec(current), spec);
      if (changes.length === 0) {
        if (jsonEqual(metadata, current.metadata)) return undefined;
        return {
          metadata,
          reason: '',
          event: { type: 'Normal', reason: 'MetadataUpdated', message: `metadata changed by ${options.actor}` },
        };
      }
      if (changes.some((c) => c.path.startsWith('model.'))) await this.#checkModel(tx, spec, 'model.version');
      const text = renderDiff(changes).replaceAll('\n', '; ');
      return {
        spec,
        metadata,
        reason: options.reason ?? `spec changed: ${changedFields(changes)}`,
        event: { type: 'Normal', reason: 'Updated', message: text },
      };
    });
  }

  /**
   * Sets the replica count (a new revision if it changed). Refused for an autoscaled deployment
   * that runs (see {@link refuseAutoscaledScale}); 0 (a stop) is always accepted.
   */
  scale(name: string, environment: string, replicas: number, options: ChangeOptions): Promise<Deployment> {
    return this.#modify(name, environment, options, (current) => {
      refuseAutoscaledScale(current, replicas);
      const spec = applyPatch(deploymentSpec(current), { configuration: { replicas } });
      const from = current.configuration.replicas;
      if (from === replicas) return Promise.resolve(undefined);
      const message = `scaled from ${from} to ${replicas} replicas`;
      return Promise.resolve({
        spec,
        reason: options.reason ?? message,
        event: { type: 'Normal', reason: replicas > from ? 'ScaledUp' : 'ScaledDown', message },
      });
    });
  }

  /**
   * Throws what {@link scale} would refuse for `replicas`, without changing anything: the API checks
   * before a scale waits for an approval it could never use.
   */
  async checkScale(name: string, environment: string, replicas: number): Promise<void> {
    refuseAutoscaledScale(await this.get(name, environment), replicas);
  }

  /**
   * Makes a NEW revision with the spec of revision `toRevision` (default: the one before the
   * current). Its phase reads `rolling-back` until it is ready.
   */
  rollback(name: string, environment: string, options: ChangeOptions & { toRevision?: number }): Promise<Deployment> {
    return this.#modify(name, environment, options, async (current, tx) => {
      const to = options.toRevision ?? current.revision - 1;
      if (!Number.isInteger(to) || to < 1 || to >= current.revision) {
        const rule =
          current.revision === 1
            ? 'there is no earlier revision to roll back to'
            : `must be an earlier revision, from 1 to ${current.revision - 1}`;
        throw new InvalidArgumentError(`toRevision: ${rule}, got ${JSON.stringify(options.toRevision ?? to)}`);
      }
      const target = await tx.revisions.get({ deployment: current.id, number: to });
      await this.#checkModel(tx, target.spec, 'toRevision');
      if (jsonEqual(target.spec, deploymentSpec(current))) return undefined;
      const reason = rollbackReason(to) + (options.reason === undefined ? '' : `: ${options.reason}`);
      return {
        spec: structuredClone(target.spec),
        reason,
        event: { type: 'Normal', reason: 'RolledBack', message: reason },
      };
    });
  }

  /**
   * Records a rollout command for the current revision: `promote` (the next step, or every step
   * with `full`), `abort` (all traffic back to stable) or `retry` (start an aborted rollout again).
   * The rollout engine acts on it within a reconcile; refused when there is nothing to act on.
   */
  rolloutCommand(
    name: string,
    environment: string,
    action: 'promote' | 'abort' | 'retry',
    options: ChangeOptions & { full?: boolean },
  ): Promise<Deployment> {
    return this.#modify(name, environment, options, (current) => {
      const rollout = current.status.rollout;
      const seen = current.status.observedRevision === current.revision && rollout?.revision === current.revision;
      const inProgress = !seen || (rollout.canary !== undefined && rollout.phase !== 'Aborted');
      if (action === 'retry' && seen && rollout.phase !== 'Aborted') {
        throw new InvalidArgumentError(
          `action: only an aborted rollout can be retried; revision ${current.revision} is ${rollout.phase.toLowerCase()}`,
        );
      }
      if (action !== 'retry' && !inProgress) {
        throw new InvalidArgumentError(
          `action: nothing to ${action}: revision ${current.revision} is not being rolled out (${rollout?.phase.toLowerCase() ?? 'no rollout'})`,
        );
      }
      const requests = current.rolloutRequests ?? [];
      const id = (requests.at(-1)?.id ?? rollout?.handledRequest ?? 0) + 1;
      const kind = action === 'promote' && options.full === true ? 'promote-full' : action;
      const request = { id, action: kind, revision: current.revision, by: options.actor, at: this.#now() } as const;
      const document: Deployment = {
        ...current,
        rolloutRequests: [...requests, request].slice(-ROLLOUT_REQUESTS_KEPT),
      };
      const what = kind === 'promote-full' ? 'full promotion' : kind;
      return Promise.resolve({
        document,
        reason: '',
        event: {
          type: 'Normal',
          reason: 'RolloutCommand',
          message: `${what} of revision ${current.revision} requested by ${options.actor}${options.reason ? `: ${options.reason}` : ''}`,
        },
      });
    });
  }

  /** Marks the deployment for deletion; the controller stops its replicas, then removes it. Idempotent. */
  delete(name: string, environment: string, options: ChangeOptions): Promise<Deployment> {
    return this.#modify(name, environment, { ...options, allowDeleting: true }, (current) => {
      if (deletionRequestedAt(current) !== undefined) return Promise.resolve(undefined);
      const document = withDeletionRequested(current, this.#now());
      return Promise.resolve({
        document,
        reason: '',
        event: { type: 'Normal', reason: 'DeletionRequested', message: `deletion requested by ${options.actor}` },
      });
    });
  }

  /** The revisions of a deployment, oldest first. */
  async listRevisions(name: string, environment: string, page: PageOptions = {}): Promise<Page<Revision>> {
    const d = await this.get(name, environment);
    return this.#store.revisions.list({ deployment: d.id, ...page });
  }

  /** Revision `number` of a deployment; `NOT_FOUND` if there is none. */
  async getRevision(name: string, environment: string, number: number): Promise<Revision> {
    const d = await this.get(name, environment);
    if (!Number.isSafeInteger(number) || number < 1)
      throw new InvalidArgumentError(`revision: must be a positive integer, got ${JSON.stringify(number)}`);
    return this.#store.revisions.get({ deployment: d.id, number }).catch((e: unknown) => {
      throw hasErrorCode(e, 'NOT_FOUND')
        ? new NotFoundError(
            `deployment ${JSON.stringify(name)} in ${JSON.stringify(environment)} has no revision ${number}`,
          )
        : e;
    });
  }

  /** What changed from revision `from` to revision `to`. */
  async diff(name: string, environment: string, from: number, to: number): Promise<RevisionDiff> {
    const [a, b] = await Promise.all([
      this.getRevision(name, environment, from),
      this.getRevision(name, environment, to),
    ]);
    const changes = diffSpecs(a.spec, b.spec);
    return { from, to, changes, text: renderDiff(changes) };
  }

  /** The deployment's events, oldest first. */
  async events(name: string, environment: string, page: PageOptions = {}): Promise<Page<DeploymentEvent>> {
    const d = await this.get(name, environment);
    return this.#store.events.list({ deployment: d.id, ...page });
  }

  /**
   * Read-modify-write of one deployment in one transaction. Without `expectedResourceVersion`, a
   * conflict with a concurrent writer (usually the controller's status) is retried on fresh data.
   */
  async #modify(
    name: string,
    environment: string,
    options: ChangeOptions & { allowDeleting?: boolean },
    decide: (current: Deployment, tx: StoreCollections) => Promise<Modification | undefined>,
  ): Promise<Deployment> {
    actorOf(options);
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.#store.transaction(async (tx) => {
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
          const now = this.#now();
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
          const metadata = { ...base.metadata, deployedBy: options.actor };
          const updated = await tx.deployments.update({ ...base, ...change.spec, revision: number, metadata });
          await tx.revisions.create({
            deployment: current.id,
            number,
            spec: change.spec,
            createdAt: now,
            createdBy: options.actor,
            reason: change.reason,
          });
          await tx.events.create(
            newEvent(current.id, now, {
              ...change.event,
              message: `revision ${number} by ${options.actor}: ${change.event.message}`,
            }),
          );
          return updated;
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

  async #checkModelOutside(spec: DeploymentSpec): Promise<void> {
    const check = this.#options.modelVersionExists;
    if (check === undefined || spec.model === undefined) return;
    if (!(await check(spec.model.name, spec.model.version))) throw unknownModel('model.version', spec);
  }

  async #checkModelInside(tx: StoreCollections, spec: DeploymentSpec, field: string): Promise<void> {
    if (this.#options.modelVersionExists !== undefined || spec.model === undefined) return;
    await tx.modelVersions.get({ model: spec.model.name, version: spec.model.version }).catch((e: unknown) => {
      throw hasErrorCode(e, 'NOT_FOUND') ? unknownModel(field, spec) : e;
    });
  }

  async #checkModel(tx: StoreCollections, spec: DeploymentSpec, field: string): Promise<void> {
    const check = this.#options.modelVersionExists;
    if (check !== undefined && spec.model !== undefined && !(await check(spec.model.name, spec.model.version)))
      throw unknownModel(field, spec);
    await this.#checkModelInside(tx, spec, field);
  }

  #now(): string {
    return (this.#options.now?.() ?? new Date()).toISOString();
  }
}

/**
 * An autoscaled deployment that runs is sized by the autoscaler within its bounds, so a replica
 * count would be accepted and then ignored: refuse it, saying what to do instead. 0 replicas is a
 * stop (the autoscaler does not override it), and scaling a stopped deployment starts it again.
 */
function refuseAutoscaledScale(current: Deployment, replicas: number): void {
  const { scaling } = current.configuration;
  if (!autoscaled(scaling) || replicas === 0 || current.configuration.replicas === 0) return;
  throw new InvalidArgumentError(
    `configuration.replicas: deployment ${JSON.stringify(current.name)} is autoscaled: the autoscaler sizes it between min ${scaling.min} and max ${scaling.max}, ` +
      'so a replica count would be ignored; change the bounds with `wharf deploy autoscale`, stop it with 0 replicas, ' +
      'or give it a fixed size (scaling min equal to max)',
  );
}

function unknownModel(field: string, spec: DeploymentSpec): InvalidArgumentError {
  return new InvalidArgumentError(
    `${field}: model ${JSON.stringify(spec.model?.name)} has no version ${JSON.stringify(spec.model?.version)}`,
  );
}

function actorOf(options: ChangeOptions | undefined): void {
  if (typeof options?.actor !== 'string' || options.actor === '')
    throw new InvalidArgumentError('actor: must be a non-empty string');
}

function environmentName(environment: unknown): asserts environment is string {
  if (typeof environment !== 'string' || environment === '' || environment.includes('/')) {
    throw new InvalidArgumentError(
      `environment: must be a non-empty name without '/', got ${JSON.stringify(environment)}`,
    );
  }
}

async function getDeployment(
  from: Pick<StoreCollections, 'deployments' | 'environments'>,
  name: string,
  environment: string,
): Promise<Deployment> {
  validateDeploymentName(name);
  environmentName(environment);
  return from.deployments.get(deploymentId(environment, name)).catch(async (e: unknown) => {
    if (!hasErrorCode(e, 'NOT_FOUND')) throw e;
    // A typo in the environment is the likelier mistake, and "deployment not found" would hide it.
    const env = await unlessNotFound(from.environments.get(environment));
    throw env === undefined
      ? new NotFoundError(
          `environment ${JSON.stringify(environment)} not found (the deployment ${JSON.stringify(name)} is looked up in it)`,
        )
      : new NotFoundError(`deployment ${JSON.stringify(name)} not found in environment ${JSON.stringify(environment)}`);
  });
}
