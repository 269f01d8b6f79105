/**
 * Deployments as users change them: create, update, scale, roll back, delete; revisions and events.
 * The API calls this; controllers act on what it writes. This class is the one entry point; the
 * rules live in the modules it delegates to (deployment-apply, deployment-revisions, rollout-control,
 * deployment-changes).
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
import { deletionRequestedAt, withDeletionRequested } from '../core/deployment-identity.js';
import type { DeploymentInput, DeploymentPatch } from '../core/deployment-spec.js';
import type { Deployment, DeploymentEvent, Revision } from '../core/resources.js';
import { PolicyViolationError } from '../core/errors.js';
import type { Page, Store } from '../store/store.js';
import { createDeployment, updateChange } from './deployment-apply.js';
import { type ChangeOptions, type Decide, modifyDeployment, type PageOptions } from './deployment-changes.js';
import { environmentName, getDeployment } from './deployment-lookup.js';
import { getRevision, listRevisions, type RevisionDiff, revisionDiff, rollbackChange } from './deployment-revisions.js';
import { ModelVersionCheck, type ModelVersionExists } from './model-version-check.js';
import { type PolicyTestDocument, type PolicyTestOutcome, testPolicies } from './policy-test.js';
import { refuseAutoscaledScale, type RolloutAction, rolloutCommandChange, scaleChange } from './rollout-control.js';

export type { ChangeOptions, PageOptions } from './deployment-changes.js';
export type { RevisionDiff } from './deployment-revisions.js';

/** Settings of {@link DeploymentService}. */
export interface DeploymentServiceOptions {
  /** Clock for timestamps. */
  now?: () => Date;
  /** Overrides the model-version check (default: the store's `modelVersions`); must not use this store. */
  modelVersionExists?: ModelVersionExists;
}

/** See the module comment. */
export class DeploymentService {
  readonly #store: Store;
  readonly #options: DeploymentServiceOptions;
  readonly #models: ModelVersionCheck;

  constructor(store: Store, options: DeploymentServiceOptions = {}) {
    this.#store = store;
    this.#options = options;
    this.#models = new ModelVersionCheck(options.modelVersionExists);
  }

  /** Creates a deployment and its revision 1. `ALREADY_EXISTS` if the name is taken in the environment. */
  create(input: DeploymentInput, options: ChangeOptions): Promise<Deployment> {
    return createDeployment(this.#store, this.#models, () => this.#now(), input, options);
  }

  /** What `environment`'s admission policies would say to `document`, changing nothing. */
  testPolicies(environment: string, document: PolicyTestDocument): Promise<PolicyTestOutcome> {
    return testPolicies(this.#store, environment, document);
  }

  /**
   * Throws `POLICY_VIOLATION` when {@link testPolicies} finds any violation; changes nothing. With
   * `existing`, the deployment must exist (`NOT_FOUND` otherwise): the document is a change of it.
   */
  async admissionPrecheck(environment: string, document: PolicyTestDocument, existing = false): Promise<void> {
    if (existing) await this.get(document.name, environment);
    const outcome = await this.testPolicies(environment, document);
    if (!outcome.allowed) throw new PolicyViolationError(outcome.violations);
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
    return this.#modify(name, environment, options, updateChange(this.#models, patch, options));
  }

  /**
   * Sets the replica count (a new revision if it changed). Refused for an autoscaled deployment
   * that runs (see {@link refuseAutoscaledScale}); 0 (a stop) is always accepted.
   */
  scale(name: string, environment: string, replicas: number, options: ChangeOptions): Promise<Deployment> {
    return this.#modify(name, environment, options, scaleChange(replicas, options));
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
    return this.#modify(name, environment, options, rollbackChange(this.#models, options));
  }

  /**
   * Records a rollout command for the current revision: `promote` (the next step, or every step
   * with `full`), `abort` (all traffic back to stable) or `retry` (start an aborted rollout again).
   * The rollout engine acts on it within a reconcile; refused when there is nothing to act on.
   */
  rolloutCommand(
    name: string,
    environment: string,
    action: RolloutAction,
    options: ChangeOptions & { full?: boolean },
  ): Promise<Deployment> {
    return this.#modify(
      name,
      environment,
      options,
      rolloutCommandChange(action, options, () => this.#now()),
    );
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
    return listRevisions(this.#store, await this.get(name, environment), page);
  }

  /** Revision `number` of a deployment; `NOT_FOUND` if there is none. */
  async getRevision(name: string, environment: string, number: number): Promise<Revision> {
    return getRevision(this.#store, await this.get(name, environment), number);
  }

  /** What changed from revision `from` to revision `to`. */
  async diff(name: string, environment: string, from: number, to: number): Promise<RevisionDiff> {
    const [a, b] = await Promise.all([
      this.getRevision(name, environment, from),
      this.getRevision(name, environment, to),
    ]);
    return revisionDiff(from, to, a, b);
  }

  /** The deployment's events, oldest first. */
  async events(name: string, environment: string, page: PageOptions = {}): Promise<Page<DeploymentEvent>> {
    const d = await this.get(name, environment);
    return this.#store.events.list({ deployment: d.id, ...page });
  }

  #modify(
    name: string,
    environment: string,
    options: ChangeOptions & { allowDeleting?: boolean },
    decide: Decide,
  ): Promise<Deployment> {
    return modifyDeployment(this.#store, () => this.#now(), name, environment, options, decide);
  }

  #now(): string {
    return (this.#options.now?.() ?? new Date()).toISOString();
  }
}
