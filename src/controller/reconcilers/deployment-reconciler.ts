/**
 * Reconciles one deployment (key: its store id) with the runtime, as a flat list of steps with early
 * returns and one status write:
 *
 * 1. read the deployment; gone → remove any workload still running under its name (strays);
 * 2. read its current revision and the model or bundle version it runs;
 * 3. observe every workload of the deployment (`runtime.list({ environment, deployment })`); advance
 *    running analyses;
 * 4. plan (pure, `deployment-plan.ts`, which runs the rollout engine);
 * 5. apply the workloads the plan keeps (each with its own revision's spec); remove the others;
 * 6. deleted and nothing runs → delete the record, its revisions and events in one transaction;
 * 7. otherwise write the status, events and any incident in one transaction, only if it changed
 *    (a `Reconciled: False` condition left by failed reconciles is cleared: this one worked);
 * 8. requeue after `pollIntervalMs` while not converged (sooner while an analysis or a timer runs).
 *
 * A stale write (someone changed the deployment since step 1) is not an error: the reconcile is
 * requeued at once and reads again.
 *
 * The steps' parts live beside it: `deployment-revisions.ts` (revision history, the workload that
 * runs a revision, `status.serving`), `deployment-analyses.ts` (analysis runs, shadow comparison),
 * `deployment-teardown.ts` (strays, deleting the record), `deployment-failures.ts` (failures
 * recorded on the deployment), `deployment-inputs.ts` (the revision, model version and replica count
 * read in steps 2-3) and `deployment-workload.ts` (the workload applied for a revision, and a
 * running one as the plan observes it).
 */
import { hasErrorCode, unlessNotFound } from '../../core/errors.js';
import { deletionRequestedAt, isRollbackRevision } from '../../core/deployment-identity.js';
import { randomBytes } from 'node:crypto';
import type { Deployment, DeploymentEndpoints } from '../../core/resources.js';
import { jsonEqual } from '../../core/revision-diff.js';
import { mayScaleToZero } from '../../core/autoscaling/scaling-spec.js';
import type { Runtime } from '../../runtime/runtime.js';
import type { Store } from '../../store/store.js';
import { newEvent } from '../../services/deployment-events.js';
import type { ReconcileContext, ReconcileResult, Reconciler } from '../reconciler.js';
import { TerminalError } from '../reconciler.js';
import type { RolloutAnalysis } from './rollout-analysis.js';
import { advanceAnalyses, isRunning, shadowSummary, startAnalyses } from './deployment-analyses.js';
import { planDeployment } from './deployment-plan.js';
import { currentRevision, replicasToRun, revisionInputsOf } from './deployment-inputs.js';
import { buildWorkload, observed } from './deployment-workload.js';
import { RevisionCache } from './deployment-revisions.js';
import { deleteRecord, removeStrays } from './deployment-teardown.js';
import { workloadKeyOf } from '../../workloads/workload-base.js';
import { reconcileRecovered } from './reconciled-condition.js';
import { recordRetriedError, recordTerminalError } from './deployment-failures.js';
import { runtimeCapable, runtimeRefusal } from './runtime-capability.js';

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
  /** Honour test-only fault labels of model versions (`wharf up --enable-test-faults`); off by default. */
  testFaults?: boolean;
  /** The endpoints to publish on the deployment (e.g. from the gateway's address); default: keep. */
  endpointsOf?(deployment: Deployment): DeploymentEndpoints;
  /** Analysis runs and shadow comparisons for rollouts; without it analysis steps fail with a message. */
  analysis?: RolloutAnalysis;
  /** Requeue delay while an analysis runs (its measurements are due every second or so). */
  analysisPollIntervalMs?: number;
  /** How long a workload leaving traffic stays up before removal. */
  drainMs?: number;
  /** Clock for status transition times and events. */
  now?: () => Date;
}

/** Defaults of {@link DeploymentReconcilerOptions}. */
export const DEPLOYMENT_RECONCILER_DEFAULTS = {
  pollIntervalMs: 1_000,
  failedPollIntervalMs: 5_000,
  analysisPollIntervalMs: 250,
} as const;

function checkSignal(signal: AbortSignal): void {
  if (signal.aborted) throw signal.reason instanceof Error ? signal.reason : new Error('reconcile aborted');
}

/** See the module comment. */
export class DeploymentReconciler implements Reconciler {
  readonly #o: DeploymentReconcilerOptions;

  readonly #revisions: RevisionCache;

  constructor(options: DeploymentReconcilerOptions) {
    this.#o = options;
    this.#revisions = new RevisionCache(options.store);
  }

  async reconcile(key: string, { signal }: ReconcileContext): Promise<ReconcileResult> {
    const { store, runtime } = this.#o;
    const now = (this.#o.now?.() ?? new Date()).toISOString();

    const deployment = await unlessNotFound(store.deployments.get(key));
    if (deployment === undefined) return removeStrays(runtime, key, () => checkSignal(signal));

    const deleting = deletionRequestedAt(deployment) !== undefined;
    // Deletion needs nothing but the workloads, so a damaged record can still be deleted.
    const revision = deleting ? undefined : await currentRevision(store, deployment);
    const spec = revision?.spec ?? deployment;
    const { inputs, blocked } = revision === undefined ? {} : await revisionInputsOf(store, revision);

    checkSignal(signal);
    const workloads = await runtime.list({ environment: deployment.environment, deployment: deployment.name });
    const running = workloads.map((w) => w.key.revision);
    const workloadRevision =
      revision === undefined
        ? deployment.revision
        : await this.#revisions.workloadRevision(deployment.id, revision, running);
    const nowDate = this.#o.now?.() ?? new Date();
    const previous = await advanceAnalyses(this.#o.analysis, deployment, nowDate);
    const shadow = await shadowSummary(this.#o.analysis, deployment, spec.strategy.type, previous, nowDate);
    const handled = previous?.handledRequest ?? 0;
    const replicas = deleting ? 0 : await replicasToRun(store, deployment.id, spec);
    // A field the environment's engine cannot honour blocks the revision (see runtime-capability.ts).
    const refused =
      revision === undefined || inputs === undefined || deleting
        ? undefined
        : await runtimeRefusal(
            runtime,
            await buildWorkload(this.#o, deployment, workloadRevision, revision, inputs, replicas),
          );
    const plan = planDeployment({
      revision: deployment.revision,
      workloadRevision,
      replicas,
      scaledToZero: replicas === 0 && spec.configuration.replicas > 0 && mayScaleToZero(spec.configuration.scaling),
      strategy: spec.strategy,
      rollback: revision !== undefined && isRollbackRevision(revision),
      deleting,
      blocked: blocked ?? refused,
      workloads: workloads.map(observed),
      status: previous === undefined ? deployment.status : { ...deployment.status, rollout: previous },
      requests: (deployment.rolloutRequests ?? []).filter((r) => r.id > handled),
      ...(shadow === undefined ? {} : { shadow }),
      ...(this.#o.drainMs === undefined ? {} : { drainMs: this.#o.drainMs }),
      now,
    });
    const planned = await this.#revisions.withServing(
      deployment.id,
      revision,
      workloadRevision,
      await startAnalyses(this.#o.analysis, deployment, plan, nowDate),
    );
    // Getting this far is a reconcile that works: a failure recorded before is cleared.
    const recovered = reconcileRecovered(planned, now);
    const capable = runtimeCapable(recovered?.status ?? planned, refused, now);
    const status = capable.status;
    const events = [...plan.events, ...(recovered ? [recovered.event] : []), ...(capable.event ? [capable.event] : [])];

    if (revision !== undefined && inputs !== undefined) {
      for (const w of plan.apply) {
        checkSignal(signal);
        // Each workload with the spec of its own revision (N's for N's workload).
        await runtime.apply(
          await buildWorkload(
            this.#o,
            deployment,
            w.revision,
            w.revision === workloadRevision ? revision : await this.#revisions.get(deployment.id, w.revision),
            inputs,
            w.replicas,
          ),
        );
      }
    }
    for (const number of plan.remove) {
      checkSignal(signal);
      await runtime.remove(workloadKeyOf(deployment, number));
    }

    checkSignal(signal);
    if (plan.deleteRecord) return deleteRecord(store, deployment);

    const endpoints = this.#o.endpointsOf?.(deployment) ?? deployment.endpoints;
    if (
      !jsonEqual(status, deployment.status) ||
      !jsonEqual(endpoints, deployment.endpoints) ||
      plan.incident !== undefined
    ) {
      try {
        await store.transaction(async (tx) => {
          await tx.deployments.update({ ...deployment, status, endpoints });
          for (const event of events) await tx.events.create(newEvent(key, now, event));
          if (plan.incident !== undefined) {
            await tx.incidents.create({
              id: `${now}-${randomBytes(4).toString('hex')}`,
              environment: deployment.environment,
              deploymentName: deployment.name,
              deployment: deployment.id,
              revision: deployment.revision,
              time: now,
              reason: plan.incident.reason,
              message: plan.incident.message,
            });
          }
        });
      } catch (error) {
        if (hasErrorCode(error, 'CONFLICT') || hasErrorCode(error, 'NOT_FOUND')) return { requeueAfterMs: 0 };
        throw error;
      }
    }
    const {
      pollIntervalMs = DEPLOYMENT_RECONCILER_DEFAULTS.pollIntervalMs,
      failedPollIntervalMs = DEPLOYMENT_RECONCILER_DEFAULTS.failedPollIntervalMs,
    } = this.#o;
    const timer = plan.wakeAt === undefined ? undefined : Math.max(0, plan.wakeAt - nowDate.getTime());
    const analysing =
      isRunning(status.rollout?.analysis) ||
      isRunning(status.rollout?.backgroundAnalysis) ||
      (status.rollout?.strategy === 'shadow' && status.rollout.canary !== undefined);
    const poll = analysing
      ? (this.#o.analysisPollIntervalMs ?? DEPLOYMENT_RECONCILER_DEFAULTS.analysisPollIntervalMs)
      : undefined;
    if (plan.converged && timer === undefined && poll === undefined) return {};
    const base = plan.converged
      ? Number.POSITIVE_INFINITY
      : plan.status.phase === 'failed'
        ? failedPollIntervalMs
        : pollIntervalMs;
    return { requeueAfterMs: Math.min(base, timer ?? Number.POSITIVE_INFINITY, poll ?? Number.POSITIVE_INFINITY) };
  }

  /**
   * Records a terminal error on the deployment: phase `failed` with the error's message, and a
   * Warning event. Wire it as the controller's `onTerminalError`.
   */
  recordTerminalError(key: string, error: TerminalError): Promise<void> {
    return recordTerminalError(this.#o.store, key, error, (this.#o.now?.() ?? new Date()).toISOString());
  }

  /**
   * Records a reconcile failure that is being retried, once it repeats (see
   * `deployment-failures.ts`). Wire it as the controller's `onRetriedError`.
   */
  recordRetriedError(key: string, error: unknown, failures: number): Promise<void> {
    return recordRetriedError(this.#o.store, key, error, failures, (this.#o.now?.() ?? new Date()).toISOString());
  }
}
