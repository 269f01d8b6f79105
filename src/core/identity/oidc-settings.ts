/**
 * The settings that make the control plane trust an OpenID Connect issuer, and their check (the
 * verifier is services/identity/oidc.ts). Pure, so `wharf up` checks its flags without loading it.
 */

/** How the control plane trusts an issuer (`wharf up --oidc-issuer … --oidc-audience …`). */
export interface OidcSettings {
  /** The issuer URL, exactly as its tokens' `iss` claim says it. */
  issuer: string;
  /** The audience (`aud`) tokens must be issued for: the client id Wharf is registered as. */
  audience: string;
  /** The claim holding the caller's groups (a list of strings, or one string); default `groups`. */
  groupsClaim?: string;
  /** The claim naming the caller; default `preferred_username`, then `email`, then `sub`. */
  usernameClaim?: string;
}

/** Checks settings given on the command line or in options; throws naming the bad one. */
export function checkOidcSettings(s: OidcSettings): OidcSettings {
  let url: URL;
  try {
    url = new URL(s.issuer);
  } catch {
    throw new Error(`oidc issuer: must be an http(s) URL, got ${JSON.stringify(s.issuer)}`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    throw new Error(`oidc issuer: must be an http(s) URL, got ${JSON.stringify(s.issuer)}`);
  if (s.audience.trim() === '') throw new Error('oidc audience: must not be empty');
  return s;
}
