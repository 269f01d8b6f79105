/**
 * Finding the deployment a request names, and the argument checks every deployment use case shares
 * (a non-empty actor, an environment name). A missing deployment is told from a missing environment.
 */
import { deploymentId } from '../core/deployment-identity.js';
import { validateDeploymentName } from '../core/deployment-spec.js';
import { hasErrorCode, InvalidArgumentError, NotFoundError, unlessNotFound } from '../core/errors.js';
import type { Deployment } from '../core/resources.js';
import type { StoreCollections } from '../store/store.js';

/** Throws `INVALID_ARGUMENT` unless a change says who makes it. */
export function actorOf(options: { actor?: unknown } | undefined): void {
  if (typeof options?.actor !== 'string' || options.actor === '')
    throw new InvalidArgumentError('actor: must be a non-empty string');
}

/** Throws `INVALID_ARGUMENT` unless `environment` is a non-empty name without '/'. */
export function environmentName(environment: unknown): asserts environment is string {
  if (typeof environment !== 'string' || environment === '' || environment.includes('/')) {
    throw new InvalidArgumentError(
      `environment: must be a non-empty name without '/', got ${JSON.stringify(environment)}`,
    );
  }
}

/** The deployment `name` in `environment`, read from the store or a transaction; `NOT_FOUND` naming what is missing. */
export async function getDeployment(
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
