/**
 * The `secretRef`s of a deployment spec checked at create and update, inside the change's
 * transaction: each names a secret of the deployment's environment that has the key (400 naming
 * `configuration.env[i].secretRef` otherwise), and gets the secret's current version pinned when it
 * names none. Pinning makes a new version of a secret a change of the spec that a re-apply shows
 * (`configuration.env[0].secretRef.version: 1 → 2`) and rolls out as a new revision, while a
 * rollback runs the version its revision ran with.
 */
import type { DeploymentSpec } from '../../core/resources.js';
import type { StoreCollections } from '../../store/store.js';
import { Secrets } from './secrets-service.js';

/** `spec` with every secret ref checked and its version pinned (a new object when any changed). */
export async function pinSecretRefs(
  tx: StoreCollections,
  environment: string,
  spec: DeploymentSpec,
): Promise<DeploymentSpec> {
  const env = spec.configuration.env;
  if (env === undefined || !env.some((v) => 'secretRef' in v)) return spec;
  const pinned = await Promise.all(
    env.map(async (v, i) => {
      if (!('secretRef' in v)) return v;
      const version = await Secrets.checkRef(tx, environment, v.secretRef, `configuration.env[${i}].secretRef`);
      return { name: v.name, secretRef: { name: v.secretRef.name, key: v.secretRef.key, version } };
    }),
  );
  return { ...spec, configuration: { ...spec.configuration, env: pinned } };
}

/** `spec` with the pinned versions dropped, for a copy to another environment (promotion) to pin its own. */
export function unpinSecretRefs<T extends { env?: DeploymentSpec['configuration']['env'] }>(configuration: T): T {
  if (configuration.env === undefined) return configuration;
  return {
    ...configuration,
    env: configuration.env.map((v) =>
      'secretRef' in v ? { name: v.name, secretRef: { name: v.secretRef.name, key: v.secretRef.key } } : v,
    ),
  };
}
