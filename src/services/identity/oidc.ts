/**
 * Single sign-on: bearer JWTs from an OpenID Connect issuer, verified with `jose`. The issuer's
 * discovery document (`<issuer>/.well-known/openid-configuration`) names its JWKS, which
 * `createRemoteJWKSet` fetches and refreshes when a token names a key it does not have. A token is
 * accepted only when signed with an asymmetric algorithm by one of those keys, issued by the
 * configured issuer for the configured audience and not expired; anything else is a 401 saying
 * which check failed (never echoing the token). The principal is `oidc:<issuer>#<sub>`, named by a
 * configured claim (default `preferred_username`, then `email`, then `sub`), with its groups from a
 * configured claim (default `groups`).
 */
import { createRemoteJWKSet, decodeProtectedHeader, errors, jwtVerify, type JWTPayload } from 'jose';
import { UnauthenticatedError, UnavailableError } from '../../core/errors.js';
import { checkOidcSettings, type OidcSettings } from '../../core/identity/oidc-settings.js';
import type { Principal } from '../../core/identity/principal.js';

export type { OidcSettings } from '../../core/identity/oidc-settings.js';

/** Only asymmetric signatures: `none` and the HS* family (a shared secret) are refused. */
export const OIDC_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
];

const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;
const DISCOVERY_TIMEOUT_MS = 5_000;
/** After a failed discovery, the next request tries again no sooner than this. */
const DISCOVERY_RETRY_MS = 2_000;

/** Whether a bearer value has the shape of a JWT (three base64url parts). */
export function looksLikeJwt(value: string): boolean {
  return JWT_SHAPE.test(value);
}

/** Verifies OIDC bearer tokens for one issuer. */
export class OidcVerifier {
  private jwks: ReturnType<typeof createRemoteJWKSet> | undefined;
  private discovering: Promise<ReturnType<typeof createRemoteJWKSet>> | undefined;
  private failedAt = 0;
  private readonly groupsClaim: string;

  constructor(readonly settings: OidcSettings) {
    checkOidcSettings(settings);
    this.groupsClaim = settings.groupsClaim ?? 'groups';
  }

  /** The principal of a JWT, or {@link UnauthenticatedError} naming the failed check. */
  async verify(token: string): Promise<Principal> {
    let alg: unknown;
    try {
      alg = decodeProtectedHeader(token).alg;
    } catch {
      throw new UnauthenticatedError('the bearer token is not a well-formed JWT');
    }
    if (typeof alg !== 'string' || !OIDC_ALGORITHMS.includes(alg))
      throw new UnauthenticatedError(
        `the OIDC token's algorithm ${JSON.stringify(alg)} is not allowed (only asymmetric ones: ${OIDC_ALGORITHMS.join(', ')})`,
      );
    const keys = await this.keys();
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, keys, {
        issuer: this.settings.issuer,
        audience: this.settings.audience,
        algorithms: OIDC_ALGORITHMS,
        requiredClaims: ['sub', 'exp'],
      }));
    } catch (e) {
      throw this.refusal(e);
    }
    return this.principalOf(payload);
  }

  private principalOf(payload: JWTPayload): Principal {
    const sub = payload.sub!;
    const claim = this.settings.usernameClaim;
    const named = [claim === undefined ? undefined : payload[claim], payload.preferred_username, payload.email, sub];
    const name = named.find((v): v is string => typeof v === 'string' && v !== '')!;
    const rawGroups = payload[this.groupsClaim];
    const groups =
      typeof rawGroups === 'string'
        ? [rawGroups]
        : Array.isArray(rawGroups)
          ? rawGroups.filter((g): g is string => typeof g === 'string')
          : [];
    return {
      id: `oidc:${this.settings.issuer}#${sub}`,
      name,
      type: 'user',
      groups,
      via: 'oidc',
      ...(payload.exp === undefined ? {} : { expiresAt: new Date(payload.exp * 1000).toISOString() }),
    };
  }

  /** What a failed verification tells the caller. */
  private refusal(e: unknown): Error {
    if (e instanceof errors.JWTExpired)
      return new UnauthenticatedError(
        `the OIDC token expired${typeof e.payload.exp === 'number' ? ` at ${new Date(e.payload.exp * 1000).toISOString()}` : ''}`,
      );
    if (e instanceof errors.JWTClaimValidationFailed) {
      if (e.claim === 'iss')
        return new UnauthenticatedError(`the OIDC token's issuer (iss) is not ${this.settings.issuer}`);
      if (e.claim === 'aud')
        return new UnauthenticatedError(`the OIDC token's audience (aud) does not include ${this.settings.audience}`);
      return new UnauthenticatedError(
        `the OIDC token's ${e.claim} claim is ${e.reason === 'missing' ? 'missing' : 'invalid'}`,
      );
    }
    if (e instanceof errors.JWKSNoMatchingKey || e instanceof errors.JWSSignatureVerificationFailed)
      return new UnauthenticatedError("the OIDC token's signature does not verify with any of the issuer's keys");
    if (e instanceof errors.JOSEAlgNotAllowed)
      return new UnauthenticatedError("the OIDC token's algorithm is not allowed");
    if (e instanceof errors.JWKSTimeout || e instanceof errors.JWKSInvalid)
      return new UnavailableError(`the OIDC issuer's keys cannot be fetched right now (${e.message})`);
    if (e instanceof errors.JOSEError) return new UnauthenticatedError(`the OIDC token is invalid (${e.code})`);
    if (e instanceof TypeError || (e instanceof Error && /fetch|ECONN/i.test(e.message)))
      return new UnavailableError(`the OIDC issuer's keys cannot be fetched right now (${e.message})`);
    return e instanceof Error ? e : new Error(String(e));
  }

  /** The issuer's key set, from its discovery document (fetched once, again after a failure). */
  private async keys(): Promise<ReturnType<typeof createRemoteJWKSet>> {
    if (this.jwks !== undefined) return this.jwks;
    if (this.discovering === undefined) {
      if (Date.now() - this.failedAt < DISCOVERY_RETRY_MS)
        throw new UnavailableError(`the OIDC issuer ${this.settings.issuer} could not be reached a moment ago`);
      this.discovering = this.discover().then(
        (jwks) => (this.jwks = jwks),
        (e: unknown) => {
          this.failedAt = Date.now();
          throw e;
        },
      );
      this.discovering.catch(() => {}).finally(() => (this.discovering = undefined));
    }
    return this.discovering;
  }

  private async discover(): Promise<ReturnType<typeof createRemoteJWKSet>> {
    const url = `${this.settings.issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
    let doc: { issuer?: unknown; jwks_uri?: unknown };
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(DISCOVERY_TIMEOUT_MS) });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      doc = (await res.json()) as typeof doc;
    } catch (e) {
      throw new UnavailableError(
        `the OIDC issuer's discovery document ${url} cannot be read (${(e as Error).message})`,
      );
    }
    if (doc.issuer !== this.settings.issuer)
      throw new UnavailableError(
        `the OIDC discovery document at ${url} names issuer ${JSON.stringify(doc.issuer)}, not ${this.settings.issuer}`,
      );
    if (typeof doc.jwks_uri !== 'string')
      throw new UnavailableError(`the OIDC discovery document at ${url} has no jwks_uri`);
    return createRemoteJWKSet(new URL(doc.jwks_uri), { timeoutDuration: DISCOVERY_TIMEOUT_MS });
  }
}
