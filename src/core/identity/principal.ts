/**
 * Who is acting: the authenticated caller of an API request, as authentication (api/authn)
 * resolves it from a credential, and as authorization, approvals and the audit trail read it.
 * Pure types.
 *
 * Identity is compared by {@link Principal.id} only, never by name: a name is what people type and
 * read (`alice`), an id is what the platform keeps (`user:…`), so `alice` and `Alice` cannot pass
 * for one another or for two people.
 */

/** What kind of caller it is. */
export type PrincipalType = 'user' | 'serviceAccount' | 'system' | 'anonymous';

/** How the caller proved who it is. */
export type CredentialKind = 'token' | 'oidc' | 'password' | 'none';

/** An authenticated caller. */
export interface Principal {
  /**
   * Stable, unique id: `user:<uid>`, `sa:<uid>`, `oidc:<issuer>#<sub>`, `system:<component>`, or
   * `anonymous` (only with `--auth none`). Four-eyes checks and role bindings compare this.
   */
  readonly id: string;
  /** For people: the user name (lowercase), the service account's name, or the token subject's name. */
  readonly name: string;
  readonly type: PrincipalType;
  /** Groups (from the user record or an OIDC claim), for group role bindings. */
  readonly groups: readonly string[];
  readonly via: CredentialKind;
  /** The API token used, when `via` is `token` (its id, never its secret). */
  readonly tokenId?: string;
  /**
   * A token's scopes narrow what the principal's roles allow: a permission (`deployments:read`),
   * `infer:<environment>` or `infer:<environment>/<deployment>` (the gateway's protected endpoints),
   * or `*` (everything the roles allow). Undefined when the credential carries no scopes.
   */
  readonly scopes?: readonly string[];
  /** When the credential stops working (ISO time): a token's expiry, an OIDC token's `exp`; undefined = never. */
  readonly expiresAt?: string;
}

/** The caller when `wharf up --auth none` runs (loopback only): acts as an admin. */
export const ANONYMOUS_ADMIN: Principal = Object.freeze({
  id: 'anonymous',
  name: 'anonymous',
  type: 'anonymous',
  groups: Object.freeze([]) as readonly string[],
  via: 'none',
});

/** A control-plane component acting on its own (controllers, the bootstrap): never an API caller. */
export function systemPrincipal(component: string): Principal {
  return Object.freeze({ id: `system:${component}`, name: component, type: 'system', groups: [], via: 'none' });
}
