/**
 * Reconciles one deployment (key: its store id) with the runtime, as a flat list of steps with early
 * returns and one status write:
 *
 * 1. read the deployment; gone → remove any workload still running under its name (strays);
 * 2. read its current revision and model version;
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
 */
import { hasErrorCode, unlessNotFound } from '../../core/errors.js';
import { deletionRequestedAt, isRollbackRevision, parseDeploymentId } from '../../core/deployment-identity.js';
import { randomBytes } from 'node:crypto';
import type {
  Deployment,
  DeploymentEndpoints,
  DeploymentSpec,
  DeploymentStatus,
  ModelVersion,
  Revision,
  ServingRevision,
} from '../../core/resources.js';
import type { AnalysisRunView, RolloutStatus, ShadowSummary } from '../../core/rollout/rollout-types.js';
import { jsonEqual } from '../../core/revision-diff.js';
import { MAX_REPLICAS } from '../../core/deployment-spec.js';
import { autoscaled, initialSize, mayScaleToZero } from '../../core/autoscaling/scaling-spec.js';
import type { Runtime, Workload, WorkloadStatus } from '../../runtime/runtime.js';
import type { Store, StoreCollections } from '../../store/store.js';
import { newEvent } from '../deployment-events.js';
import type { ReconcileContext, ReconcileResult, Reconciler } from '../reconciler.js';
import { TerminalError } from '../reconciler.js';
import { listAll } from '../store-pages.js';
import type { AnalysisTarget, RolloutAnalysis } from '../rollout-analysis.js';
import { type DeploymentPlan, type ObservedWorkload, planDeployment } from './deployment-plan.js';
import { desiredWorkload, workloadKeyOf } from './deployment-workload.js';
import { reconcileFailed, reconcileRecovered, REPEATED_FAILURES } from './reconciled-condition.js';
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

  readonly #revisions = new Map<string, Revision>();

  constructor(options: DeploymentReconcilerOptions) {
    this.#o = options;
  }

  async reconcile(key: string, { signal }: ReconcileContext): Promise<ReconcileResult> {
    const { store, runtime } = this.#o;
    const now = (this.#o.now?.() ?? new Date()).toISOString();

    const deployment = await unlessNotFound(store.deployments.get(key));
    if (deployment === undefined) return this.#removeStrays(key, signal);

    const deleting = deletionRequestedAt(deployment) !== undefined;
    // Deletion needs nothing but the workloads, so a damaged record can still be deleted.
    const revision = deleting ? undefined : await this.#revision(deployment);
    const spec = revision?.spec ?? deployment;
    const { modelVersion, blocked } = revision === undefined ? {} : await this.#modelVersion(revision);

    checkSignal(signal);
    const workloads = await runtime.list({ environment: deployment.environment, deployment: deployment.name });
    const running = workloads.map((w) => w.key.revision);
    const workloadRevision =
      revision === undefined ? deployment.revision : await this.#workloadRevision(deployment.id, revision, running);
    const nowDate = this.#o.now?.() ?? new Date();
    const previous = await this.#advanceAnalyses(deployment, nowDate);
    const shadow = await this.#shadow(deployment, spec.strategy.type, previous, nowDate);
    const handled = previous?.handledRequest ?? 0;
    const replicas = deleting ? 0 : await this.#replicas(deployment.id, spec);
    // A field the environment's engine cannot honour blocks the revision (see runtime-capability.ts).
    const refused =
      revision === undefined || modelVersion === undefined || deleting
        ? undefined
        : await runtimeRefusal(
            runtime,
            await this.#workload(deployment, workloadRevision, revision, modelVersion, replicas),
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
    const planned = await this.#withServing(
      deployment,
      revision,
      workloadRevision,
      await this.#startAnalyses(deployment, plan, nowDate),
    );
    // Getting this far is a reconcile that works: a failure recorded before is cleared.
    const recovered = reconcileRecovered(planned, now);
    const capable = runtimeCapable(recovered?.status ?? planned, refused, now);
    const status = capable.status;
    const events = [...plan.events, ...(recovered ? [recovered.event] : []), ...(capable.event ? [capable.event] : [])];

    if (revision !== undefined && modelVersion !== undefined) {
      for (const w of plan.apply) {
        checkSignal(signal);
        await this.#applyWorkload(
          deployment,
          w.revision,
          w.revision === workloadRevision ? revision : await this.#revisionNumber(deployment.id, w.revision),
          modelVersion,
          w.replicas,
        );
      }
    }
    for (const number of plan.remove) {
      checkSignal(signal);
      await runtime.remove(workloadKeyOf(deployment, number));
    }

    checkSignal(signal);
    if (plan.deleteRecord) return this.#deleteRecord(deployment);

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
  async recordTerminalError(key: string, error: TerminalError): Promise<void> {
    const now = (this.#o.now?.() ?? new Date()).toISOString();
    await this.#o.store.transaction(async (tx) => {
      const deployment = await unlessNotFound(tx.deployments.get(key));
      if (
        deployment === undefined ||
        (deployment.status.phase === 'failed' && deployment.status.message === error.message)
      )
        return;
      await tx.deployments.update({
        ...deployment,
        status: { ...deployment.status, phase: 'failed', message: error.message },
      });
      await tx.events.create(
        newEvent(key, now, { type: 'Warning', reason: 'ReconcileFailed', message: error.message }),
      );
    });
  }

  /**
   * Records a reconcile failure that is being retried, once it repeats: a `Reconciled: False`
   * condition with the error and one Warning event (see `reconciled-condition.ts`). Wire it as the
   * controller's `onRetriedError`. A concurrent write wins: the next failure records it.
   */
  async recordRetriedError(key: string, error: unknown, failures: number): Promise<void> {
    if (failures < REPEATED_FAILURES) return;
    const now = (this.#o.now?.() ?? new Date()).toISOString();
    try {
      await this.#o.store.transaction(async (tx) => {
        const deployment = await unlessNotFound(tx.deployments.get(key));
        const change = deployment === undefined ? undefined : reconcileFailed(deployment.status, error, now);
        if (deployment === undefined || change === undefined) return;
        await tx.deployments.update({ ...deployment, status: change.status });
        await tx.events.create(newEvent(key, now, change.event));
      });
    } catch (writeError) {
      if (!hasErrorCode(writeError, 'CONFLICT')) throw writeError;
    }
  }

  /**
   * The workload that runs revision N: the newest running workload whose revision's spec runs the
   * same replicas as N's (a rollback to a warm revision, a scale, a strategy change), else the
   * earliest revision M ≤ N such that every revision from M to N runs the same replicas, else N.
   */
  async #workloadRevision(id: string, revision: Revision, running: readonly number[]): Promise<number> {
    for (const number of [...running].sort((a, b) => b - a)) {
      if (number === revision.number) return number;
      const other = await unlessNotFound(this.#revisionNumber(id, number));
      if (other !== undefined && sameWorkload(other.spec, revision.spec)) return number;
    }
    let current = revision;
    while (current.number > 1) {
      const previous = await unlessNotFound(this.#revisionNumber(id, current.number - 1));
      if (previous === undefined || !sameWorkload(previous.spec, current.spec)) break;
      current = previous;
    }
    return current.number;
  }

  /** Revision `number` of a deployment; revisions are immutable, so they are cached. */
  async #revisionNumber(id: string, number: number): Promise<Revision> {
    const cacheKey = `${id}@${number}`;
    const cached = this.#revisions.get(cacheKey);
    if (cached !== undefined) return cached;
    const revision = await this.#o.store.revisions.get({ deployment: id, number });
    this.#revisions.set(cacheKey, revision);
    return revision;
  }

  /** Applies workload `number` with the spec of `revision` (N's for its own workload) and `replicas`. */
  async #applyWorkload(
    deployment: Deployment,
    number: number,
    revision: Revision,
    currentModel: ModelVersion,
    replicas: number,
  ): Promise<void> {
    await this.#o.runtime.apply(await this.#workload(deployment, number, revision, currentModel, replicas));
  }

  /** Workload `number` with the spec of `revision` and `replicas`. */
  async #workload(
    deployment: Deployment,
    number: number,
    revision: Revision,
    currentModel: ModelVersion,
    replicas: number,
  ): Promise<Workload> {
    const spec: DeploymentSpec = { ...revision.spec, configuration: { ...revision.spec.configuration, replicas } };
    const model = spec.model;
    const modelVersion =
      model === undefined || (model.name === currentModel.model && model.version === currentModel.version)
        ? currentModel
        : await this.#o.store.modelVersions.get({ model: model.name, version: model.version });
    const artifactPath = this.#o.artifactPath(modelVersion.artifact.digest);
    const source = {
      environment: deployment.environment,
      name: deployment.name,
      revision: number,
      spec,
      modelVersion,
      artifactPath,
    };
    return desiredWorkload({ ...source, startupGraceMs: this.#o.startupGraceMs });
  }

  /**
   * Replicas to run: the autoscaler's decision for an autoscaled spec that is not stopped (it already applied the
   * bounds and schedules), else the spec's count. Before the autoscaler's first decision, the
   * spec's count within its bounds.
   */
  async #replicas(id: string, spec: DeploymentSpec): Promise<number> {
    const { replicas, scaling } = spec.configuration;
    // 0 replicas in the spec is a stop, which the autoscaler does not override.
    if (!autoscaled(scaling) || replicas === 0) return replicas;
    const state = await unlessNotFound(this.#o.store.autoscalers.get(id));
    if (state !== undefined) return Math.min(MAX_REPLICAS, Math.max(0, state.desiredReplicas));
    return initialSize(spec.configuration);
  }

  /** The stored rollout status with its running analyses measured again. */
  async #advanceAnalyses(deployment: Deployment, now: Date): Promise<RolloutStatus | undefined> {
    const rollout = deployment.status.rollout;
    const analysis = this.#o.analysis;
    if (rollout === undefined || analysis === undefined || rollout.canary === undefined) return rollout;
    const target = this.#target(deployment, rollout.canary);
    const advance = (run: AnalysisRunView | undefined) =>
      isRunning(run) ? analysis.advance(run!, target, now) : Promise.resolve(run);
    const [step, background] = await Promise.all([advance(rollout.analysis), advance(rollout.backgroundAnalysis)]);
    return {
      ...rollout,
      ...(step === undefined ? {} : { analysis: step }),
      ...(background === undefined ? {} : { backgroundAnalysis: background }),
    };
  }

  /** Creates the analysis runs the plan asked for and puts them on the status. */
  async #startAnalyses(deployment: Deployment, plan: DeploymentPlan, now: Date): Promise<DeploymentStatus> {
    const rollout = plan.status.rollout;
    if (rollout === undefined || plan.startAnalysis.length === 0) return plan.status;
    const target = this.#target(deployment, rollout.canary ?? rollout.stable ?? deployment.revision);
    const runs: Partial<Record<'analysis' | 'backgroundAnalysis', AnalysisRunView>> = {};
    for (const start of plan.startAnalysis) {
      runs[start.slot] =
        this.#o.analysis === undefined
          ? { phase: 'error', message: 'no metrics source is configured for analysis' }
          : await this.#o.analysis.start(start.template, start.args, target, now);
    }
    return { ...plan.status, rollout: { ...rollout, ...runs } };
  }

  /**
   * `status.serving`: the revisions the traffic split gives a share, each with its model version,
   * so that lists show what answers requests (the spec's model is only what is wanted).
   */
  async #withServing(
    deployment: Deployment,
    current: Revision | undefined,
    workloadRevision: number,
    status: DeploymentStatus,
  ): Promise<DeploymentStatus> {
    const targets = status.rollout?.traffic.targets;
    if (current === undefined || targets === undefined) return status;
    const serving: ServingRevision[] = [];
    for (const t of targets.filter((x) => x.weight > 0)) {
      const spec =
        t.revision === workloadRevision
          ? current.spec
          : (await unlessNotFound(this.#revisionNumber(deployment.id, t.revision)))?.spec;
      serving.push({
        revision: t.revision,
        weight: t.weight,
        ...(spec?.model === undefined ? {} : { model: { name: spec.model.name, version: spec.model.version } }),
      });
    }
    const total = serving.reduce((n, s) => n + s.weight, 0);
    return { ...status, serving: serving.map((s) => ({ ...s, weight: Math.round((s.weight * 100) / total) })) };
  }

  /** The shadow comparison while a shadow rollout mirrors to its canary. */
  async #shadow(
    deployment: Deployment,
    type: string,
    rollout: RolloutStatus | undefined,
    now: Date,
  ): Promise<ShadowSummary | undefined> {
    if (
      type !== 'shadow' ||
      rollout?.canary === undefined ||
      rollout.phase === 'Aborted' ||
      this.#o.analysis === undefined
    )
      return undefined;
    const since = rollout.stepStartedAt === undefined ? now.getTime() : Date.parse(rollout.stepStartedAt);
    return this.#o.analysis.shadow(this.#target(deployment, rollout.canary), since);
  }

  #target(deployment: Deployment, revision: number): AnalysisTarget {
    return { environment: deployment.environment, deployment: deployment.name, revision };
  }

  /** The current revision's immutable snapshot; its absence breaks an invariant no retry fixes. */
  async #revision(deployment: Deployment): Promise<Revision> {
    try {
      return await this.#o.store.revisions.get({ deployment: deployment.id, number: deployment.revision });
    } catch (error) {
      if (hasErrorCode(error, 'NOT_FOUND'))
        throw new TerminalError(`revision ${deployment.revision} of deployment ${deployment.id} is missing`);
      throw error;
    }
  }

  /** The model version a revision runs, or why it cannot run. */
  async #modelVersion(revision: Revision): Promise<{ modelVersion?: ModelVersion; blocked?: string }> {
    const { spec } = revision;
    if (spec.type !== 'model' || spec.model === undefined)
      return { blocked: `type '${spec.type}' cannot run yet: only model deployments are supported` };
    try {
      return {
        modelVersion: await this.#o.store.modelVersions.get({ model: spec.model.name, version: spec.model.version }),
      };
    } catch (error) {
      if (hasErrorCode(error, 'NOT_FOUND'))
        return { blocked: `model ${spec.model.name} version ${spec.model.version} does not exist` };
      throw error;
    }
  }

  /** The record is gone: nothing of it may keep running (e.g. a deletion finished by hand, or a restored store). */
  async #removeStrays(key: string, signal: AbortSignal): Promise<ReconcileResult> {
    const id = parseDeploymentId(key);
    if (id === undefined) return {};
    for (const w of await this.#o.runtime.list({ environment: id.environment, deployment: id.name })) {
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
      if (hasErrorCode(error, 'CONFLICT')) return { requeueAfterMs: 0 };
      if (hasErrorCode(error, 'NOT_FOUND')) return {};
      throw error;
    }
    return {};
  }
}

async function deleteChildren(tx: StoreCollections, id: string): Promise<void> {
  await unlessNotFound(tx.autoscalers.delete(id));
  for (const r of await listAll(tx.revisions, { deployment: id }))
    await tx.revisions.delete({ deployment: id, number: r.number });
  for (const e of await listAll(tx.events, { deployment: id })) await tx.events.delete({ deployment: id, id: e.id });
}

function observed(w: WorkloadStatus): ObservedWorkload {
  const crash = w.conditions.find((c) => c.type === 'CrashLoop' && c.status === 'True');
  const dependencies = w.conditions.find((c) => c.type === 'DependenciesReady');
  return {
    revision: w.key.revision,
    desiredReplicas: w.desiredReplicas,
    readyReplicas: w.readyReplicas,
    ...(crash === undefined ? {} : { crashLoop: crash.message || crash.reason }),
    ...(dependencies === undefined || dependencies.status === 'True'
      ? {}
      : { dependencyProblem: dependencies.message || dependencies.reason }),
    ...(dependencies === undefined ? {} : { hasDependencies: true }),
    terminations: w.replicas.flatMap((r) =>
      r.lastTermination === undefined ? [] : [{ replica: r.id, ...r.lastTermination }],
    ),
  };
}

/**
 * True when two specs run the same replicas: they differ at most in what changes in place (the
 * replica count, autoscaling bounds) or only steers rollouts (the strategy).
 */
export function sameWorkload(a: DeploymentSpec, b: DeploymentSpec): boolean {
  const strip = (s: DeploymentSpec) => ({
    ...s,
    strategy: undefined,
    configuration: { ...s.configuration, replicas: 0, scaling: undefined },
  });
  return jsonEqual(strip(a), strip(b));
}

function isRunning(run: AnalysisRunView | undefined): boolean {
  return run?.phase === 'running';
}
