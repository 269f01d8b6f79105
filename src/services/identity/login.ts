/**
 * Logging in with a user name and password: a correct pair mints a session token (every scope the
 * user's roles allow, 12 hours); anything else is the same 401, whether the user is unknown,
 * disabled, has no password or gave a wrong one, and an unknown name is checked against a decoy
 * hash so that it takes as long as a wrong password. Logging out revokes the session's token.
 */
import { InvalidArgumentError, UnauthenticatedError } from '../../core/errors.js';
import type { Principal } from '../../core/identity/principal.js';
import { LOGIN_SESSION_MS } from '../../core/identity/token-lifetime.js';
import { principalName } from '../../core/identity/names.js';
import { decoyHash, verifyPassword } from './passwords.js';
import type { Tokens } from './tokens.js';
import { SESSION_TOKEN_NAME, type Users } from './users.js';

/** What a successful login answers. */
export interface LoginAnswer {
  token: string;
  tokenId: string;
  expiresAt: string;
  user: { id: string; name: string };
}

const REFUSED = 'login refused: unknown user name or wrong password';

/** See the module comment. */
export class Login {
  constructor(
    private readonly users: Users,
    private readonly tokens: Tokens,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async login(name: unknown, password: unknown): Promise<LoginAnswer> {
    if (typeof password !== 'string' || password.length > 1024) throw new UnauthenticatedError(REFUSED);
    let key: string;
    try {
      key = principalName(name);
    } catch {
      await verifyPassword(password, await decoyHash());
      throw new UnauthenticatedError(REFUSED);
    }
    const user = await this.users.record(key).catch(() => undefined);
    const stored = user?.passwordHash ?? (await decoyHash());
    const ok = await verifyPassword(password, stored);
    if (!ok || user === undefined || user.passwordHash === null || user.disabled)
      throw new UnauthenticatedError(REFUSED);
    const { token, record } = await this.tokens.mint({
      owner: user.id,
      ownerName: user.name,
      name: SESSION_TOKEN_NAME,
      scopes: ['*'],
      expiresAt: new Date(this.now().getTime() + LOGIN_SESSION_MS),
    });
    return { token, tokenId: record.id, expiresAt: record.expiresAt!, user: { id: user.id, name: user.name } };
  }

  /** Revokes the token the caller authenticated with; an error when it used none. */
  async logout(caller: Principal): Promise<{ revoked: string }> {
    if (caller.tokenId === undefined)
      throw new InvalidArgumentError(
        'authorization: logout needs the API token to revoke; this request used another credential',
      );
    await this.tokens.revoke(caller.tokenId);
    return { revoked: caller.tokenId };
  }
}
