/**
 * Authentication: from a request's credential to the {@link Principal} acting. Today a credential
 * is an API token (`Authorization: Bearer wharf_…`); with `--auth none` every caller is the
 * anonymous admin. No credential at all is not an error here: the route decides (health and
 * readiness are public), through authorization.
 */
import { UnauthenticatedError } from '../../core/errors.js';
import { ANONYMOUS_ADMIN, type Principal, type PrincipalType } from '../../core/identity/principal.js';
import { bearerToken } from '../../core/identity/token-string.js';
import type { ApiToken } from '../../core/resources.js';
import type { Tokens } from './tokens.js';

/** How the API authenticates. */
export type AuthMode = 'token' | 'none';

/** Resolves credentials to principals. */
export class Authenticator {
  constructor(
    readonly mode: AuthMode,
    private readonly tokens: Tokens | undefined,
  ) {
    if (mode === 'token' && tokens === undefined) throw new Error('token authentication needs the token store');
  }

  /** Every caller is the anonymous admin (`--auth none`, and tests of parts that auth is not about). */
  static none(): Authenticator {
    return new Authenticator('none', undefined);
  }

  /**
   * The principal of an `Authorization` header value: undefined when there is none (the route
   * decides), {@link UnauthenticatedError} when one is given and refused.
   */
  async authenticate(authorization: string | undefined): Promise<Principal | undefined> {
    if (this.mode === 'none') return ANONYMOUS_ADMIN;
    if (authorization === undefined || authorization.trim() === '') return undefined;
    const token = bearerToken(authorization);
    if (token === undefined)
      throw new UnauthenticatedError('authorization: expected "Bearer <token>" with a wharf_… token');
    return principalOfToken(await this.tokens!.resolve(token));
  }
}

/** The principal a token acts as. */
export function principalOfToken(record: ApiToken): Principal {
  return {
    id: record.owner,
    name: record.ownerName,
    type: typeOfPrincipalId(record.owner),
    groups: [],
    via: 'token',
    tokenId: record.id,
    scopes: record.scopes,
  };
}

function typeOfPrincipalId(id: string): PrincipalType {
  if (id.startsWith('sa:')) return 'serviceAccount';
  if (id.startsWith('system:')) return 'system';
  return 'user';
}
