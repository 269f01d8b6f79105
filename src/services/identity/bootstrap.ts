/**
 * The first credentials of a new installation: on the first start of `wharf up` against an empty
 * store, an admin token (no expiry, every scope), so that the CLI on the same machine works with
 * no login step. Later starts find it already made and make nothing. Also the long-lived tokens
 * of the control plane's own components (the gateway that follows the route table).
 */
import type { ApiToken } from '../../core/resources.js';
import type { Tokens } from './tokens.js';

/** The Principal.id of the admin `wharf up` creates. */
export const BOOTSTRAP_ADMIN_ID = 'user:admin';
/** The name of the admin's first token. */
export const BOOTSTRAP_TOKEN_NAME = 'bootstrap admin token (wharf up)';

/**
 * Mints the bootstrap admin token unless one was ever made (revoked or not: revoking it must not
 * make the next start mint another). Returns the token string when it minted one.
 */
export async function bootstrapAdminToken(tokens: Tokens): Promise<string | undefined> {
  const existing = (await tokens.list(BOOTSTRAP_ADMIN_ID)).some((t) => t.name === BOOTSTRAP_TOKEN_NAME);
  if (existing) return undefined;
  const { token } = await tokens.mint({
    owner: BOOTSTRAP_ADMIN_ID,
    ownerName: 'admin',
    name: BOOTSTRAP_TOKEN_NAME,
    scopes: ['*'],
    expiresAt: null,
  });
  return token;
}

/**
 * A component's token: `current` (read from where the component keeps it) when it still
 * authenticates with exactly these scopes, otherwise a new one for `owner` (`system:<component>`).
 */
export async function componentToken(
  tokens: Tokens,
  owner: string,
  scopes: readonly string[],
  current: string | undefined,
): Promise<{ token: string; minted?: ApiToken }> {
  if (current !== undefined) {
    const record = await tokens.resolve(current).catch(() => undefined);
    if (record?.owner === owner && [...record.scopes].sort().join() === [...scopes].sort().join())
      return { token: current };
    // A token of an older version with other scopes: replaced, and revoked so it stops working.
    if (record !== undefined) await tokens.revoke(record.id);
  }
  const name = owner.replace(/^system:/, '');
  const { token, record } = await tokens.mint({
    owner,
    ownerName: name,
    name: `${name} (control plane component)`,
    scopes,
    expiresAt: null,
  });
  return { token, minted: record };
}
