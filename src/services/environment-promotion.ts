/**
 * Promotion between environments: `wharf deploy promote NAME --from staging --to production` takes
 * the exact model version and configuration of the source's current revision (its artifact digest
 * is checked to be the one the target will run) into the target environment, creating the
 * deployment there or making a new revision of it. The target keeps its own rollout strategy, so
 * production's canary applies; its approval policy applies through the {@link ChangeGate}.
 */
import { unpinSecretRefs } from './secrets/secret-refs.js';
import { hasErrorCode, InvalidArgumentError, unlessNotFound } from '../core/errors.js';
import type { Deployment, DeploymentSpec } from '../core/resources.js';
import type { Store } from '../store/store.js';
import type { ChangeOptions, DeploymentService } from './deployment-service.js';

/** What a promotion copies, read once so an approval replays exactly it. */
export interface PromotionPlan {
  name: string;
  from: string;
  to: string;
  fromRevision: number;
  spec: DeploymentSpec;
  digest: string;
}

/** Reads the source's current revision and the digest of its artifact. */
export async function planPromotion(
  store: Store,
  deployments: DeploymentService,
  name: string,
  from: string,
  to: string,
): Promise<PromotionPlan> {
  if (from === to) throw new InvalidArgumentError(`to: must differ from 'from' (${JSON.stringify(from)})`);
  const source = await deployments.get(name, from);
  const revision = await deployments.getRevision(name, from, source.revision);
  const model = revision.spec.model;
  if (model === undefined)
    throw new InvalidArgumentError(`from: deployment ${name} in ${from} runs no model to promote`);
  const version = await store.modelVersions.get({ model: model.name, version: model.version });
  await store.environments.get(to).catch((e: unknown) => {
    throw hasErrorCode(e, 'NOT_FOUND') ? new InvalidArgumentError(`to: no environment named ${JSON.stringify(to)}`) : e;
  });
  return { name, from, to, fromRevision: source.revision, spec: revision.spec, digest: version.artifact.digest };
}

/** Applies a planned promotion: create in the target, or update it (keeping the target's strategy). */
export async function applyPromotion(
  store: Store,
  deployments: DeploymentService,
  plan: PromotionPlan,
  options: ChangeOptions,
): Promise<Deployment> {
  const model = plan.spec.model!;
  const version = await store.modelVersions.get({ model: model.name, version: model.version });
  if (version.artifact.digest !== plan.digest) {
    throw new InvalidArgumentError(
      `from: ${model.name} ${model.version} now has artifact ${version.artifact.digest}, not the promoted ${plan.digest}`,
    );
  }
  const why = `promoted from ${plan.from} revision ${plan.fromRevision} (${model.name} ${model.version}, ${plan.digest})${options.reason ? `: ${options.reason}` : ''}`;
  const existing = await unlessNotFound(deployments.get(plan.name, plan.to));
  // Secret refs name the target's secrets of the same name: the target pins their versions.
  const { replicas: _replicas, ...configuration } = unpinSecretRefs(plan.spec.configuration);
  if (existing === undefined) {
    return deployments.create(
      {
        name: plan.name,
        environment: plan.to,
        type: plan.spec.type,
        model: { ...model },
        configuration: unpinSecretRefs(plan.spec.configuration),
        strategy: plan.spec.strategy,
      },
      { ...options, reason: why },
    );
  }
  // The target keeps its replica count and strategy: promotion moves what runs, not how many or how.
  return deployments.update(plan.name, plan.to, { model: { ...model }, configuration }, { ...options, reason: why });
}

/** Promotion bound to its store and deployment service, as the API and the approval gate call it. */
export class Promotions {
  constructor(
    private readonly store: Store,
    private readonly deployments: DeploymentService,
  ) {}

  /** See {@link planPromotion}. */
  plan(name: string, from: string, to: string): Promise<PromotionPlan> {
    return planPromotion(this.store, this.deployments, name, from, to);
  }

  /** See {@link applyPromotion}. */
  apply(plan: PromotionPlan, options: ChangeOptions): Promise<Deployment> {
    return applyPromotion(this.store, this.deployments, plan, options);
  }
}
