/**
 * The checks of an `application` or `worker` spec that need the store: the bundle version it
 * names exists, and the environment's engine can run it (on Kubernetes a command runs in a
 * container, so the spec needs an image or a bundle). Each failure is `INVALID_ARGUMENT` naming
 * the field, inside the change's transaction, so a refused change writes nothing.
 */
import { hasErrorCode, InvalidArgumentError } from '../core/errors.js';
import type { DeploymentSpec, Environment } from '../core/resources.js';
import type { StoreCollections } from '../store/store.js';
import { runnableOn } from '../workloads/command-spec.js';

/** Throws unless `spec`'s bundle exists and `environment`'s runtime can run `spec`. */
export async function checkCommandSpec(
  tx: StoreCollections,
  environment: Pick<Environment, 'name' | 'runtime'>,
  spec: DeploymentSpec,
): Promise<void> {
  const refusal = runnableOn(spec, environment.runtime);
  if (refusal !== undefined)
    throw new InvalidArgumentError(`${refusal.field}: ${refusal.rule} (environment ${environment.name})`);
  const bundle = spec.bundle;
  if (bundle === undefined) return;
  await tx.bundleVersions.get({ bundle: bundle.name, version: bundle.version }).catch((e: unknown) => {
    throw hasErrorCode(e, 'NOT_FOUND')
      ? new InvalidArgumentError(
          `bundle.version: bundle ${JSON.stringify(bundle.name)} has no version ${JSON.stringify(bundle.version)} (push it with 'wharf app push ${bundle.name} DIR --version ${bundle.version}')`,
        )
      : e;
  });
}
