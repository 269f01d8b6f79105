/**
 * Reconciles one deployment (key: its store id) with the runtime, as a flat list of steps with early
 * returns and one status write:
 *
 * 1. read the deployment; gone → remove any workload still running under its name (strays);
 * 2. read its current revision and model version;
 * 3. observe every workload of the deployment (`runtime.list()`);
 * 4. plan (pure, `deployment-plan.ts`);
 * 5. apply revision N; remove the workloads the plan names;
 * 6. deleted and nothing runs → delete the record, its revisions and events in one transaction;
 * 7. otherwise write the status (and phase-transition events) in one transaction, only if it changed;
 * 8. requeue after `pollIntervalMs` while not converged.
 *
 * A stale write (someone changed the deployment since step 1) is not an error: the reconcile is
 * requeued at once and reads again.
 */
import { WharfError } from '../../core/errors.js';
import { deletionRequestedAt, isRollbackRevision, parseDeploymentId } from '../../core/deployment-identity.js';
import type { Deployment, DeploymentEndpoints, DeploymentSpec, ModelVersion, Revision } from '../../core/resources.js';
import { jsonEqual } from '../../core/revision-diff.js';
import type { Runtime, WorkloadStatus } from '../../runtime/runtime.js';
import type { Store, StoreCollections } from '../../store/store.js';
import { newEvent } from '../deployment-events.js';
import type { ReconcileContext, ReconcileResult, Reconciler } from '../reconciler.js';
import { TerminalError } from '../reconciler.js';
import { listAll } from '../store-pages.js';
import { type ObservedWorkload, planDeployment } from './deployment-plan.js';
import { desiredWorkload, workloadKeyOf } from './deployment-workload.js';

/** Settings of {@link DeploymentReconciler}; every default is in {@link DEPLOYMENT_RECONCILER_DEFAULTS}. */
export interface DeploymentReconcilerOptions {
  store: Store;
  runtime: Runtime;
  /** Local path of the artifact with this digest (the registry's blob path). */
  artifactPath(digest: string): string;
  /** Requeue delay while a deployment converges. */
  pollIntervalMs?: number;
  /** Requeue delay while a deployment is failed (it may recover, e.g. a crash loop that ends). */
  failedPollIntervalMs?: number;
  /** Passed to the workload's probes. */
  startupGraceMs?: number;
  /** The endpoints to publish on the deployment (e.g. from the gateway's address); default: keep. */
  endpointsOf?(deployment: Deployment): DeploymentEndpoints;
  /** Clock for status transition times and events. */
  now?: () => Date;
}

/** Defaults of {@link DeploymentReconcilerOptions}. */
export const DEPLOYMENT_RECONCILER_DEFAULTS = { pollIntervalMs: 1_000, failedPollIntervalMs: 5_000 } as const;

const isCode = (error: unknown, code: string): boolean => error instanceof WharfError && error.code === code;

function checkSignal(signal: AbortSignal): void {
  if (signal.aborted) throw signal.reason instanceof Error ? signal.reason : new Error('reconcile aborted');
}

/** See the module comment. */
export class DeploymentReconciler implements Reconciler {
  readonly #o: DeploymentReconcilerOptions;

  readonly #workloadRevisions = new Map<string, number>();

  constructor(options: DeploymentReconcilerOptions) {
    this.#o = options;
  }

  async reconcile(key: string, { signal }: ReconcileContext): Promise<ReconcileResult> {
    const { store, runtime } = this.#o;
    const now = (this.#o.now?.() ?? new Date()).toISOString();

    const deployment = await store.deployments.get(key).catch((e: unknown) => (isCode(e, 'NOT_FOUND') ? undefined : Promise.reject(e)));
    if (deployment === undefined) return this.#removeStrays(key, signal);

    const deleting = deletionRequestedAt(deployment) !== undefined;
    // Deletion needs nothing but the workloads, so a damaged record can still be deleted.
    const revision = deleting ? undefined : await this.#revision(deployment);
    const spec = revision?.spec ?? deployment;
    const { modelVersion, blocked } = revision === undefined ? {} : await this.#modelVersion(revision);

    checkSignal(signal);
    const workloads = (await runtime.list()).filter((w) => w.key.environment === deployment.environment && w.key.deployment === deployment.name);
    const workloadRevision = revision === undefined ? deployment.revision : await this.#workloadRevision(deployment.id, revision);
    const plan = planDeployment({
      revision: deployment.revision,
      workloadRevision,
      replicas: spec.configuration.replicas,
      strategy: spec.strategy.type,
      rollback: revision !== undefined && isRollbackRevision(revision),
      deleting,
      blocked,
      workloads: workloads.map(observed),
      status: deployment.status,
      now,
    });

    if (plan.apply && revision !== undefined && modelVersion !== undefined) {
      checkSignal(signal);
      const artifactPath = this.#o.artifactPath(modelVersion.artifact.digest);
      // Keyed by the workload revision, with N's spec: a scale resizes the running workload.
      const source = { environment: deployment.environment, name: deployment.name, revision: workloadRevision, spec: revision.spec, modelVersion, artifactPath };
      await runtime.apply(desiredWorkload({ ...source, startupGraceMs: this.#o.startupGraceMs }));
    }
    for (const number of plan.remove) {
      checkSignal(signal);
      await runtime.remove(workloadKeyOf(deployment, number));
    }

    checkSignal(signal);
    if (plan.deleteRecord) return this.#deleteRecord(deployment);

    const endpoints = this.#o.endpointsOf?.(deployment) ?? deployment.endpoints;
    if (!jsonEqual(plan.status, deployment.status) || !jsonEqual(endpoints, deployment.endpoints)) {
      try {
        await store.transaction(async (tx) => {
          await tx.deployments.update({ ...deployment, status: plan.status, endpoints });
          for (const event of plan.events) await tx.events.create(newEvent(key, now, event));
        });
      } catch (error) {
        if (isCode(error, 'CONFLICT') || isCode(error, 'NOT_FOUND')) return { requeueAfterMs: 0 };
        throw error;
      }
    }
    if (plan.converged) return {};
    const { pollIntervalMs = DEPLOYMENT_RECONCILER_DEFAULTS.pollIntervalMs, failedPollIntervalMs = DEPLOYMENT_RECONCILER_DEFAULTS.failedPollIntervalMs } = this.#o;
    return { requeueAfterMs: plan.status.phase === 'failed' ? failedPollIntervalMs : pollIntervalMs };
  }

  /**
   * Records a terminal error on the deployment: phase `failed` with the error's message, and a
   * Warning event. Wire it as the controller's `onTerminalError`.
   */
  async recordTerminalError(key: string, error: TerminalError): Promise<void> {
    const now = (this.#o.now?.() ?? new Date()).toISOString();
    await this.#o.store.transaction(async (tx) => {
      const deployment = await tx.deployments.get(key).catch((e: unknown) => (isCode(e, 'NOT_FOUND') ? undefined : Promise.reject(e)));
      if (deployment === undefined || (deployment.status.phase === 'failed' && deployment.status.message === error.message)) return;
      await tx.deployments.update({ ...deployment, status: { ...deployment.status, phase: 'failed', message: error.message } });
      await tx.events.create(newEvent(key, now, { type: 'Warning', reason: 'ReconcileFailed', message: error.message }));
    });
  }

  /**
   * The earliest revision M ≤ N such that every revision from M to N differs from the next only in
   * `configuration.replicas`: its workload runs N. Revisions are immutable, so answers are cached.
   */
  async #workloadRevision(id: string, revision: Revision): Promise<number> {
    const cacheKey = `${id}@${revision.number}`;
    const cached = this.#workloadRevisions.get(cacheKey);
    if (cached !== undefined) return cached;
    let current = revision;
    while (current.number > 1) {
      const previous = await this.#o.store.revisions.get({ deployment: id, number: current.number - 1 }).catch((e: unknown) => (isCode(e, 'NOT_FOUND') ? undefined : Promise.reject(e)));
      if (previous === undefined || !sameWorkload(previous.spec, current.spec)) break;
      current = previous;
    }
    this.#workloadRevisions.set(cacheKey, current.number);
    return current.number;
  }

  /** The current revision's immutable snapshot; its absence breaks an invariant no retry fixes. */
  async #revision(deployment: Deployment): Promise<Revision> {
    try {
      return await this.#o.store.revisions.get({ deployment: deployment.id, number: deployment.revision });
    } catch (error) {
      if (isCode(error, 'NOT_FOUND')) throw new TerminalError(`revision ${deployment.revision} of deployment ${deployment.id} is missing`);
      throw error;
    }
  }

  /** The model version a revision runs, or why it cannot run. */
  async #modelVersion(revision: Revision): Promise<{ modelVersion?: ModelVersion; blocked?: string }> {
    const { spec } = revision;
    if (spec.type !== 'model' || spec.model === undefined) return { blocked: `type '${spec.type}' cannot run yet: only model deployments are supported` };
    try {
      return { modelVersion: await this.#o.store.modelVersions.get({ model: spec.model.name, version: spec.model.version }) };
    } catch (error) {
      if (isCode(error, 'NOT_FOUND')) return { blocked: `model ${spec.model.name} version ${spec.model.version} does not exist` };
      throw error;
    }
  }

  /** The record is gone: nothing of it may keep running (e.g. a deletion finished by hand, or a restored store). */
  async #removeStrays(key: string, signal: AbortSignal): Promise<ReconcileResult> {
    const id = parseDeploymentId(key);
    if (id === undefined) return {};
    for (const w of await this.#o.runtime.list()) {
      if (w.key.environment !== id.environment || w.key.deployment !== id.name) continue;
      checkSignal(signal);
      await this.#o.runtime.remove(w.key);
    }
    return {};
  }

  /** Deletes the record with its revisions and events, if no one changed it since it was read. */
  async #deleteRecord(deployment: Deployment): Promise<ReconcileResult> {
    try {
      await this.#o.store.transaction(async (tx) => {
        await deleteChildren(tx, deployment.id);
        await tx.deployments.delete(deployment.id, deployment.resourceVersion);
      });
    } catch (error) {
      if (isCode(error, 'CONFLICT')) return { requeueAfterMs: 0 };
      if (isCode(error, 'NOT_FOUND')) return {};
      throw error;
    }
    return {};
  }
}

async function deleteChildren(tx: StoreCollections, id: string): Promise<void> {
  for (const r of await listAll(tx.revisions, { deployment: id })) await tx.revisions.delete({ deployment: id, number: r.number });
  for (const e of await listAll(tx.events, { deployment: id })) await tx.events.delete({ deployment: id, id: e.id });
}

function observed(w: WorkloadStatus): ObservedWorkload {
  const crash = w.conditions.find((c) => c.type === 'CrashLoop' && c.status === 'True');
  return {
    revision: w.key.revision,
    desiredReplicas: w.desiredReplicas,
    readyReplicas: w.readyReplicas,
    ...(crash === undefined ? {} : { crashLoop: crash.message || crash.reason }),
  };
}

/** True when two specs run the same workload: they differ at most in the replica count. */
function sameWorkload(a: DeploymentSpec, b: DeploymentSpec): boolean {
  const strip = (s: DeploymentSpec) => ({ ...s, configuration: { ...s.configuration, replicas: 0 } });
  return jsonEqual(strip(a), strip(b));
}
