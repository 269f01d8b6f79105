/**
 * Which model version a job scores and what its input tensor looks like: `spec.model`, or the
 * model the deployment `spec.deployment` serves now in the job's environment. Used at create (a
 * missing model or deployment is a 400 naming the field) and by the schedule for each run (a run
 * scores the deployment's model at the time it starts).
 */
import { InvalidArgumentError, hasErrorCode } from '../../core/errors.js';
import type { JobSpec, ModelReference, TensorSpec } from '../../core/resources.js';
import { deploymentId } from '../../core/deployment-identity.js';
import type { StoreCollections } from '../../store/store.js';

/** A resolved model version: its reference, its artifact's digest and its first input. */
export interface JobModel extends ModelReference {
  digest: string;
  input: TensorSpec | undefined;
}

/** The model version `spec` names (see the module comment); `INVALID_ARGUMENT` naming the field when it is missing. */
export async function resolveJobModel(
  store: Pick<StoreCollections, 'deployments' | 'modelVersions'>,
  environment: string,
  spec: Pick<JobSpec, 'model' | 'deployment'>,
): Promise<JobModel> {
  let ref = spec.model;
  if (ref === undefined) {
    const name = spec.deployment ?? '';
    const deployment = await store.deployments.get(deploymentId(environment, name)).catch((e: unknown) => {
      if (hasErrorCode(e, 'NOT_FOUND'))
        throw new InvalidArgumentError(
          `deployment: no deployment ${JSON.stringify(name)} in environment ${JSON.stringify(environment)}`,
        );
      throw e;
    });
    if (deployment.model === undefined)
      throw new InvalidArgumentError(`deployment: ${JSON.stringify(name)} serves no model (type ${deployment.type})`);
    ref = deployment.model;
  }
  const { name, version } = ref;
  const found = await store.modelVersions.get({ model: name, version }).catch((e: unknown) => {
    if (hasErrorCode(e, 'NOT_FOUND'))
      throw new InvalidArgumentError(`model: no version ${JSON.stringify(version)} of model ${JSON.stringify(name)}`);
    throw e;
  });
  return { name, version, digest: found.artifact.digest, input: found.signature.inputs[0] };
}

/** The features per row the model's first input takes (its last dimension), when the signature says. */
export function featureWidth(input: TensorSpec | undefined): number | undefined {
  const last = input?.shape.at(-1);
  return last !== undefined && last > 0 && (input?.shape.length ?? 0) >= 2 ? last : undefined;
}
