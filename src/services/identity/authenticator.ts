/**
 * Authentication: from a request's credential to the {@link Principal} acting. A credential is an
 * API token (`Authorization: Bearer wharf_…`), or, when an OIDC issuer is configured, a JWT it
 * signed (oidc.ts); with `--auth none` every caller is the anonymous admin. No credential at all is
 * not an error here: the route decides (health and readiness are public), through authorization.
 *
 * A user token's principal carries the groups of the user's record, read per request so a change
 * of groups counts at once; a disabled user's tokens are refused.
 */
import { UnauthenticatedError } from '../../core/errors.js';
import { ANONYMOUS_ADMIN, type Principal, type PrincipalType } from '../../core/identity/principal.js';
import { bearerToken, TOKEN_PREFIX } from '../../core/identity/token-string.js';
import type { ApiToken, User } from '../../core/resources.js';
import { looksLikeJwt, type OidcVerifier } from './oidc.js';
import type { Tokens } from './tokens.js';

/** How the API authenticates. */
export type AuthMode = 'token' | 'none';

/** Where the authenticator finds a user record by id (the Users service). */
export interface UserLookup {
  byId(id: string): Promise<User | undefined>;
}

/** What the authenticator may use besides tokens. */
export interface AuthenticatorSources {
  /** Fills a user token's groups and refuses a disabled user's tokens. */
  users?: UserLookup;
  /** Accepts bearer JWTs of one OIDC issuer. */
  oidc?: OidcVerifier;
}

/** Resolves credentials to principals. */
export class Authenticator {
  constructor(
    readonly mode: AuthMode,
    private readonly tokens: Tokens | undefined,
    private readonly sources: AuthenticatorSources = {},
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
      throw new UnauthenticatedError(
        `authorization: expected "Bearer <token>" with a wharf_… token${this.sources.oidc ? ' or an OIDC JWT' : ''}`,
      );
    if (!token.startsWith(TOKEN_PREFIX) && looksLikeJwt(token)) {
      if (this.sources.oidc === undefined)
        throw new UnauthenticatedError(
          'the bearer token is a JWT, but no OIDC issuer is configured (wharf up --oidc-issuer); send a wharf_… token',
        );
      return this.sources.oidc.verify(token);
    }
    const record = await this.tokens!.resolve(token);
    const principal = principalOfToken(record);
    if (principal.type !== 'user' || this.sources.users === undefined) return principal;
    const user = await this.sources.users.byId(record.owner);
    if (user === undefined) return principal;
    if (user.disabled) throw new UnauthenticatedError(`user ${user.name} is disabled`);
    return { ...principal, name: user.name, groups: [...user.groups] };
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
    ...(record.expiresAt === null ? {} : { expiresAt: record.expiresAt }),
  };
}

function typeOfPrincipalId(id: string): PrincipalType {
  if (id.startsWith('sa:')) return 'serviceAccount';
  if (id.startsWith('system:')) return 'system';
  return 'user';
}
