/**
 * The pull token of model pods: a scoped (`models:read`), expiring API token that the Kubernetes
 * runtime keeps in a Kubernetes Secret (`runtime/manifests/pull-token-secret.ts`) for the artifact
 * init container, which reads it as `WHARF_PULL_TOKEN` through `secretKeyRef` — never from the
 * manifest text. Minted here through the identity code's {@link Tokens}; the caller replaces it
 * before `expiresAt` (the Kubernetes runtime's `pull-tokens.ts` renews it).
 */
import type { Tokens } from '../identity/tokens.js';

/** The principal pull tokens act as. */
export const PULL_TOKEN_OWNER = 'system:artifact-puller';
/** How long a pull token is valid by default. */
export const PULL_TOKEN_TTL_MS = 24 * 3_600_000;

/** A minted pull token: the string (kept only in the Kubernetes Secret) and when it stops working. */
export interface PullToken {
  readonly token: string;
  readonly id: string;
  readonly expiresAt: Date;
}

/** Mints a `models:read` token valid for `ttlMs` (default 24 h), named after `purpose` (e.g. a namespace). */
export async function mintPullToken(
  tokens: Tokens,
  purpose: string,
  options: { ttlMs?: number; now?: () => Date } = {},
): Promise<PullToken> {
  const now = options.now?.() ?? new Date();
  const expiresAt = new Date(now.getTime() + (options.ttlMs ?? PULL_TOKEN_TTL_MS));
  const { token, record } = await tokens.mint({
    owner: PULL_TOKEN_OWNER,
    ownerName: 'artifact-puller',
    name: `pull token: ${purpose}`,
    scopes: ['models:read'],
    expiresAt,
  });
  return { token, id: record.id, expiresAt };
}
