/**
 * API tokens as their owners and admins manage them through the API: create one for yourself
 * (scopes no wider than the credential you create it with, an expiry of at most a year), or, with
 * tokens:admin, for a service account; list your own (admins: everyone's); revoke your own (admins:
 * anyone's). Answers are {@link TokenView}s: never a hash; the token string only in a create answer.
 */
import { isPermission } from '../../core/access/permissions.js';
import { InvalidArgumentError, NotFoundError, PermissionDeniedError, hasErrorCode } from '../../core/errors.js';
import { label } from '../../core/identity/names.js';
import type { Principal } from '../../core/identity/principal.js';
import { DEFAULT_TOKEN_LIFETIME_MS, tokenLifetimeMs } from '../../core/identity/token-lifetime.js';
import type { ApiToken } from '../../core/resources.js';
import type { AccessDecider } from './access-check.js';
import type { ServiceAccounts } from './service-accounts.js';
import type { Tokens } from './tokens.js';

/** A token as the API answers it. */
export interface TokenView {
  id: string;
  name: string;
  owner: string;
  ownerName: string;
  scopes: string[];
  createdAt: string;
  expiresAt: string | null;
  revokedAt: string | null;
  lastUsedAt: string | null;
  state: 'active' | 'expired' | 'revoked';
}

/** What creating a token takes (the API's body). */
export interface TokenInput {
  name: unknown;
  scopes?: unknown;
  /** `30d`, `12h`, … (token-lifetime.ts); default 30 days. */
  expiresIn?: unknown;
  /** A service account's name: the token acts as it (needs tokens:admin). */
  serviceAccount?: unknown;
}

/** The view of a stored token. */
export function tokenView(t: ApiToken, now: Date = new Date()): TokenView {
  const state =
    t.revokedAt !== null
      ? 'revoked'
      : t.expiresAt !== null && Date.parse(t.expiresAt) <= now.getTime()
        ? 'expired'
        : 'active';
  return {
    id: t.id,
    name: t.name,
    owner: t.owner,
    ownerName: t.ownerName,
    scopes: [...t.scopes],
    createdAt: t.createdAt,
    expiresAt: t.expiresAt,
    revokedAt: t.revokedAt,
    lastUsedAt: t.lastUsedAt,
    state,
  };
}

const INFER_SCOPE = /^infer:[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\/[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)?$/;

/** The scopes of a new token, each `*`, a permission or `infer:<env>[/<deployment>]`; or a 400. */
export function tokenScopes(value: unknown): string[] {
  if (value === undefined) return ['*'];
  if (!Array.isArray(value) || value.length === 0 || value.length > 64)
    throw new InvalidArgumentError('scopes: must be a list of 1 to 64 scopes');
  const out: string[] = [];
  value.forEach((s, i) => {
    if (typeof s !== 'string' || !(s === '*' || isPermission(s) || INFER_SCOPE.test(s)))
      throw new InvalidArgumentError(
        `scopes[${i}]: must be "*", a permission (e.g. deployments:read) or infer:<environment>[/<deployment>], got ${JSON.stringify(typeof s === 'string' ? s.slice(0, 80) : s)}`,
      );
    if (!out.includes(s)) out.push(s);
  });
  return out;
}

/** Whether a credential with `held` scopes covers `wanted` (undefined = unscoped, covers all). */
function covers(held: readonly string[] | undefined, wanted: string): boolean {
  if (held === undefined || held.includes('*') || held.includes(wanted)) return true;
  // infer:<env> covers infer:<env>/<deployment>; `infer` covers every infer scope.
  if (wanted.startsWith('infer:'))
    return held.includes('infer') || held.some((h) => wanted.startsWith(`${h}/`) && h.startsWith('infer:'));
  return false;
}

/** See the module comment. */
export class TokenManagement {
  constructor(
    private readonly tokens: Tokens,
    private readonly serviceAccounts: ServiceAccounts,
    private readonly access: AccessDecider,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** A new token; the answer's `token` is the only time the string is shown. */
  async create(caller: Principal, input: TokenInput): Promise<TokenView & { token: string }> {
    const name = label(input.name, 'name', 100);
    const scopes = tokenScopes(input.scopes);
    const lifetime = input.expiresIn === undefined ? DEFAULT_TOKEN_LIFETIME_MS : tokenLifetimeMs(input.expiresIn);
    for (const s of scopes)
      if (!covers(caller.scopes, s))
        throw new PermissionDeniedError(
          `scopes: ${JSON.stringify(s)} is wider than the scopes of the credential making the token (${(caller.scopes ?? []).join(', ')})`,
        );
    // An infer scope opens a protected endpoint by itself (the gateway reads only scopes): it needs
    // the infer permission in that environment, so tokens:create alone cannot mint a way in.
    for (const s of scopes) {
      const environment = /^infer:([^/]+)/.exec(s)?.[1];
      if (environment === undefined) continue;
      const decision = await this.access.decide(caller, 'infer', { environment });
      if (!decision.allowed)
        throw new PermissionDeniedError(
          `scopes: ${JSON.stringify(s)} needs the infer permission in environment ${environment}${decision.reason === undefined ? '' : ` (${decision.reason})`}`,
        );
    }
    let owner = { id: caller.id, name: caller.name };
    if (input.serviceAccount !== undefined) {
      await this.requireAdmin(caller, 'create a token for a service account');
      const sa = await this.serviceAccounts.record(input.serviceAccount);
      owner = { id: sa.id, name: sa.name };
    } else if (caller.type === 'anonymous' || caller.type === 'system') {
      throw new InvalidArgumentError(
        `serviceAccount: required when the caller is ${caller.id} (it cannot own a token); name a service account`,
      );
    }
    const { token, record } = await this.tokens.mint({
      owner: owner.id,
      ownerName: owner.name,
      name,
      scopes,
      expiresAt: new Date(this.now().getTime() + lifetime),
    });
    return { ...tokenView(record, this.now()), token };
  }

  /** The caller's tokens; every token when the caller holds tokens:admin. */
  async list(caller: Principal): Promise<TokenView[]> {
    const admin = await this.isAdmin(caller);
    const all = await this.tokens.list(admin ? undefined : caller.id);
    const now = this.now();
    return all.sort((a, b) => a.createdAt.localeCompare(b.createdAt)).map((t) => tokenView(t, now));
  }

  /** Revokes one of the caller's tokens (any token, with tokens:admin); it is refused at once. */
  async revoke(caller: Principal, id: string): Promise<TokenView> {
    const notFound = new NotFoundError(
      `token ${JSON.stringify(id.slice(0, 40))} not found among the tokens you may revoke`,
    );
    if (!/^[a-z2-7]{12}$/.test(id)) throw notFound;
    const record = await this.tokens
      .revoke(id, async (t) => {
        if (t.owner !== caller.id && !(await this.isAdmin(caller))) throw notFound;
      })
      .catch((e: unknown) => {
        throw hasErrorCode(e, 'NOT_FOUND') ? notFound : e;
      });
    return tokenView(record, this.now());
  }

  private async isAdmin(caller: Principal): Promise<boolean> {
    return (await this.access.decide(caller, 'tokens:admin')).allowed;
  }

  private async requireAdmin(caller: Principal, what: string): Promise<void> {
    const d = await this.access.decide(caller, 'tokens:admin');
    if (!d.allowed) throw new PermissionDeniedError(`permission denied: tokens:admin is needed to ${what}`);
  }
}
