/**
 * The Kubernetes Secret holding a namespace's pull token (see `services/secrets/pull-token.ts`):
 * key `token`, read by the artifact init container through `secretKeyRef`
 * (`pod-template.ts`, option `pullTokenSecret`). Pure.
 */
import { PULL_TOKEN_SECRET_KEY } from './container-parts.js';

/** Default name of the pull-token Secret. */
export const PULL_TOKEN_SECRET = 'wharf-pull-token';

/** The Secret object for `token` in `namespace`, labelled with its owner and expiry. */
export function renderPullTokenSecret(
  namespace: string,
  token: string,
  expiresAt: Date,
  options: { name?: string; owner?: string } = {},
) {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: options.name ?? PULL_TOKEN_SECRET,
      namespace,
      labels: { 'app.kubernetes.io/managed-by': 'wharf', 'wharf.dev/owner': options.owner ?? 'wharf' },
      annotations: { 'wharf.dev/expires-at': expiresAt.toISOString() },
    },
    type: 'Opaque',
    // `data` (base64), as the API server stores it: applied as is, nothing converts it.
    data: { [PULL_TOKEN_SECRET_KEY]: Buffer.from(token, 'utf8').toString('base64') },
  };
}
