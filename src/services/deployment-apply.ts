/**
 * Creating a deployment (its revision 1) and updating one (a patch merged into its spec and
 * metadata; a new revision only if the spec changed). Rules the request breaks change nothing and
 * throw `INVALID_ARGUMENT` naming the field.
 */
import { deploymentId } from '../core/deployment-identity.js';
import {
  applyPatch,
  type DeploymentInput,
  type DeploymentPatch,
  specFromInput,
  validateDeploymentName,
  validateMetadataInput,
} from '../core/deployment-spec.js';
import { InvalidArgumentError, unlessNotFound } from '../core/errors.js';
import { type Deployment, deploymentSpec } from '../core/resources.js';
import { changedFields, diffSpecs, jsonEqual, renderDiff } from '../core/revision-diff.js';
import type { Store } from '../store/store.js';
import { admit, environmentOf } from './admission.js';
import type { ChangeOptions, Decide } from './deployment-changes.js';
import { newEvent } from './deployment-events.js';
import { actorOf, environmentName } from './deployment-lookup.js';
import type { ModelVersionCheck } from './model-version-check.js';
import { WORKLOAD_SPEC_KINDS } from '../workloads/workload-kind.js';
import { pinSecretRefs } from './secrets/secret-refs.js';
import { checkCommandSpec } from './command-spec-check.js';

/** Creates a deployment and its revision 1. `ALREADY_EXISTS` if the name is taken in the environment. */
export async function createDeployment(
  store: Store,
  models: ModelVersionCheck,
  clock: () => string,
  input: DeploymentInput,
  options: ChangeOptions,
): Promise<Deployment> {
  actorOf(options);
  if (typeof input !== 'object' || input === null) throw new InvalidArgumentError('body: must be an object');
  validateDeploymentName(input.name);
  environmentName(input.environment);
  const requested = specFromInput(input, WORKLOAD_SPEC_KINDS);
  const metadataInput = validateMetadataInput(input.metadata);
  await models.outside(requested);
  const now = clock();
  const id = deploymentId(input.environment, input.name);
  return store.transaction(async (tx) => {
    const environment = await environmentOf(tx, input.environment);
    const spec = await pinSecretRefs(tx, input.environment, requested);
    await models.inside(tx, spec, 'model.version');
    await checkCommandSpec(tx, environment, spec);
    await admit(tx, environment, spec);
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

/** The update decision: `patch` merged into the spec and metadata (see deployment-changes.ts). */
export function updateChange(models: ModelVersionCheck, patch: DeploymentPatch, options: ChangeOptions): Decide {
  return async (current, tx) => {
    const spec = await pinSecretRefs(
      tx,
      current.environment,
      applyPatch(deploymentSpec(current), patch, WORKLOAD_SPEC_KINDS),
    );
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
    if (changes.some((c) => c.path.startsWith('model.'))) await models.check(tx, spec, 'model.version');
    if (changes.some((c) => c.path.startsWith('bundle') || c.path === 'configuration.image'))
      await checkCommandSpec(tx, await environmentOf(tx, current.environment), spec);
    const text = renderDiff(changes).replaceAll('\n', '; ');
    return {
      spec,
      metadata,
      reason: options.reason ?? `spec changed: ${changedFields(changes)}`,
      event: { type: 'Normal', reason: 'Updated', message: text },
    };
  };
}
