/**
 * The bearer-token check of protected routes, done in the gateway with no call to the control
 * plane: the route table carries, per protected route, the tokens allowed on it as `{ id, hash,
 * expiresAt }` (route-table.ts: only the SHA-256 of each token, never its secret). A presented
 * token `wharf_<id>_<secret>` is found by its id, its SHA-256 compared with the listed one in
 * constant time, and its expiry checked against the clock, per request (so a token expires on
 * time even when no new table arrives; a revoked one leaves the table within the publisher's
 * refresh). A token that is valid but listed only on other routes is told apart (403) from one
 * that is not valid anywhere (401), through the {@link TokenDirectory} of the whole table.
 *
 * Messages never repeat the presented token, nor any part of it.
 */
import { timingSafeEqual } from 'node:crypto';
import { bearerToken, tokenDigest, tokenIdOf } from '../core/identity/token-string.js';
import type { RouteAuth, RouteToken } from '../protocol/route-table.js';

/** Why a request was refused; the `reason` label of `wharf_gateway_auth_denied_total`. */
export type DenialReason = 'missing' | 'malformed' | 'invalid' | 'expired' | 'forbidden';

/** Every reason, in the order the metric lists them. */
export const DENIAL_REASONS: readonly DenialReason[] = ['missing', 'malformed', 'invalid', 'expired', 'forbidden'];

/** The outcome of a check: the token's id, or why it was refused. */
export type TokenVerdict =
  { readonly ok: true; readonly tokenId: string } | { readonly ok: false; readonly reason: DenialReason };

/** A listed token, ready for the request path. */
interface AllowedToken {
  readonly hash: Buffer;
  /** Epoch ms; Infinity = never. */
  readonly expiresAt: number;
}

/** Every token listed on any route of one table: what tells "another route's token" from "no token of ours". */
export class TokenDirectory {
  private readonly tokens = new Map<string, Buffer>();

  /** Adds a route's tokens (called while the table is compiled). */
  add(auth: RouteAuth): void {
    for (const t of auth.tokens) this.tokens.set(t.id, Buffer.from(t.hash, 'hex'));
  }

  /** Whether `token` (whose SHA-256 is `hash`) is listed on some route under `id`. */
  knows(id: string, hash: Buffer): boolean {
    const listed = this.tokens.get(id);
    return listed !== undefined && timingSafeEqual(listed, hash);
  }
}

/** Most verified `authorization` values a route remembers (see {@link RouteTokenCheck}). */
export const VERIFIED_CACHE_SIZE = 4_096;

/**
 * The tokens one protected route accepts; compiled once per table. Header values already verified
 * against this table are remembered (at most {@link VERIFIED_CACHE_SIZE}, forgotten all at once
 * when full), so a client's next request costs a Map lookup instead of a SHA-256: only values that
 * passed are kept, the expiry is still checked on every request, and the memory goes with the
 * table, so a token revoked (dropped from a new table) is hashed and refused again.
 */
export class RouteTokenCheck {
  private readonly allowed = new Map<string, AllowedToken>();
  private readonly verified = new Map<string, { readonly verdict: TokenVerdict; readonly expiresAt: number }>();

  constructor(
    auth: RouteAuth,
    private readonly directory: TokenDirectory,
  ) {
    for (const t of auth.tokens) this.allowed.set(t.id, compileToken(t));
  }

  /** Checks an `authorization` header value at `now` (epoch ms). */
  check(authorization: string | undefined, now: number): TokenVerdict {
    if (authorization === undefined || authorization === '') return MISSING;
    const known = this.verified.get(authorization);
    if (known !== undefined) return now >= known.expiresAt ? EXPIRED : known.verdict;
    // The API's own parsing (core/identity/token-string.ts): `Bearer wharf_<id>_<secret>`, strictly.
    const token = bearerToken(authorization);
    const id = token === undefined ? undefined : tokenIdOf(token);
    if (id === undefined) return MALFORMED;
    const hash = tokenDigest(token!);
    const allowed = this.allowed.get(id);
    if (allowed === undefined || !timingSafeEqual(allowed.hash, hash))
      return this.directory.knows(id, hash) ? FORBIDDEN : INVALID;
    if (now >= allowed.expiresAt) return EXPIRED;
    const verdict: TokenVerdict = Object.freeze({ ok: true, tokenId: id });
    if (this.verified.size >= VERIFIED_CACHE_SIZE) this.verified.clear();
    this.verified.set(authorization, { verdict, expiresAt: allowed.expiresAt });
    return verdict;
  }
}

const MISSING: TokenVerdict = Object.freeze({ ok: false, reason: 'missing' });
const MALFORMED: TokenVerdict = Object.freeze({ ok: false, reason: 'malformed' });
const INVALID: TokenVerdict = Object.freeze({ ok: false, reason: 'invalid' });
const EXPIRED: TokenVerdict = Object.freeze({ ok: false, reason: 'expired' });
const FORBIDDEN: TokenVerdict = Object.freeze({ ok: false, reason: 'forbidden' });

function compileToken(t: RouteToken): AllowedToken {
  return { hash: Buffer.from(t.hash, 'hex'), expiresAt: t.expiresAt === null ? Infinity : Date.parse(t.expiresAt) };
}
