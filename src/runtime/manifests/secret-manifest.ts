/**
 * The Kubernetes Secret holding the items of one version of a Wharf secret that a workload reads
 * (`kubeSecretName` in `container-parts.ts`): immutable, since a version never changes, and named by
 * version so that two revisions of a rollout each read their own. Written by the Kubernetes runtime
 * with values it resolves at apply time; never part of an export. Pure.
 */
import { kubeSecretName } from './container-parts.js';

/** The Secret of version `version` of `secret` in `namespace` with `items` (key → value). */
export function renderVersionSecret(
  namespace: string,
  secret: string,
  version: number,
  items: Readonly<Record<string, string>>,
  owner = 'wharf',
) {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: kubeSecretName(secret, version),
      namespace,
      labels: {
        'app.kubernetes.io/managed-by': 'wharf',
        'wharf.dev/owner': owner,
        'wharf.dev/secret': secret,
        'wharf.dev/secret-version': String(version),
      },
    },
    type: 'Opaque',
    immutable: true,
    data: Object.fromEntries(Object.entries(items).map(([k, v]) => [k, Buffer.from(v, 'utf8').toString('base64')])),
  };
}
