/**
 * API tokens: minting (the string is returned once), resolving a presented token to its record,
 * listing and revoking. A token is refused when unknown, when its hash does not match, when
 * revoked or when expired — each with its own message, none of which echoes the token.
 * `lastUsedAt` is written at most once a minute per token, so authentication does not turn every
 * read into a write.
 */
import { InvalidArgumentError, UnauthenticatedError, hasErrorCode } from '../../core/errors.js';
import type { ApiToken } from '../../core/resources.js';
import { newTokenString, tokenHash, tokenIdOf, tokenMatches } from '../../core/identity/token-string.js';
import type { Store } from '../../store/store.js';

/** What a new token is made of. */
export interface TokenRequest {
  /** The Principal.id it acts as. */
  owner: string;
  ownerName: string;
  name: string;
  scopes: readonly string[];
  /** Null only for the bootstrap admin token. */
  expiresAt: Date | null;
}

const LAST_USED_EVERY_MS = 60_000;

/** Token records over the store. */
export class Tokens {
  private readonly lastUsedWritten = new Map<string, number>();

  constructor(
    private readonly store: Store,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** Mints a token; the returned `token` string is the only time it exists outside the caller. */
  async mint(request: TokenRequest): Promise<{ token: string; record: ApiToken }> {
    if (request.scopes.length === 0) throw new InvalidArgumentError('scopes: must name at least one scope');
    if (request.expiresAt !== null && request.expiresAt.getTime() <= this.now().getTime())
      throw new InvalidArgumentError('expires: must be in the future');
    for (;;) {
      const { id, token } = newTokenString();
      try {
        const record = await this.store.tokens.create({
          id,
          name: request.name,
          owner: request.owner,
          ownerName: request.ownerName,
          hash: tokenHash(token),
          scopes: [...request.scopes],
          createdAt: this.now().toISOString(),
          expiresAt: request.expiresAt?.toISOString() ?? null,
          revokedAt: null,
          lastUsedAt: null,
        });
        return { token, record };
      } catch (e) {
        // 60 bits of id: a collision is all but impossible, but costs only a retry.
        if (!hasErrorCode(e, 'ALREADY_EXISTS')) throw e;
      }
    }
  }

  /** The record of a presented token, or {@link UnauthenticatedError} saying why it is refused. */
  async resolve(token: string): Promise<ApiToken> {
    const id = tokenIdOf(token);
    if (id === undefined) throw new UnauthenticatedError('the bearer token is malformed (expected wharf_…)');
    let record: ApiToken;
    try {
      record = await this.store.tokens.get(id);
    } catch (e) {
      if (hasErrorCode(e, 'NOT_FOUND')) throw new UnauthenticatedError('the bearer token is not known');
      throw e;
    }
    if (!tokenMatches(token, record.hash)) throw new UnauthenticatedError('the bearer token is not known');
    if (record.revokedAt !== null) throw new UnauthenticatedError(`token ${id} was revoked at ${record.revokedAt}`);
    const now = this.now();
    if (record.expiresAt !== null && Date.parse(record.expiresAt) <= now.getTime())
      throw new UnauthenticatedError(`token ${id} expired at ${record.expiresAt}`);
    this.noteUse(record, now);
    return record;
  }

  /** Every token, or one owner's. */
  async list(owner?: string): Promise<ApiToken[]> {
    const all: ApiToken[] = [];
    let next: string | undefined;
    do {
      const page = await this.store.tokens.list({ limit: 1000, continue: next });
      all.push(...page.items);
      next = page.continue;
    } while (next !== undefined);
    return owner === undefined ? all : all.filter((t) => t.owner === owner);
  }

  /**
   * Revokes a token (idempotent); throws NOT_FOUND for an unknown id. `allow` may refuse (throw)
   * once the record is read, e.g. when the caller does not own it.
   */
  async revoke(id: string, allow?: (record: ApiToken) => Promise<void>): Promise<ApiToken> {
    for (;;) {
      const record = await this.store.tokens.get(id);
      await allow?.(record);
      if (record.revokedAt !== null) return record;
      try {
        return await this.store.tokens.update({ ...record, revokedAt: this.now().toISOString() });
      } catch (e) {
        if (!hasErrorCode(e, 'CONFLICT')) throw e;
      }
    }
  }

  /**
   * Records use, at most once a minute per token; a lost race or a store hiccup only delays it.
   * Called before the request's context is entered (api/authn.ts), so this write is never taken
   * for the request's own change by the audit trail.
   */
  private noteUse(record: ApiToken, now: Date): void {
    const last = this.lastUsedWritten.get(record.id) ?? 0;
    if (now.getTime() - last < LAST_USED_EVERY_MS) return;
    this.lastUsedWritten.set(record.id, now.getTime());
    void this.store.tokens.update({ ...record, lastUsedAt: now.toISOString() }).catch(() => {});
  }
}
