/**
 * Local users: create (a random stable id `user:<uid>`, the name lowercased and unique), list, get,
 * set a password (which ends the user's login sessions), disable or enable, delete (which revokes the user's tokens), and the admin user
 * `wharf up` creates on first start (`user:admin`, idempotent). Answers are {@link UserView}s: never
 * the password hash.
 */
import { randomBytes } from 'node:crypto';
import { groupNames, principalName } from '../../core/identity/names.js';
import { hasErrorCode, InvalidArgumentError, NotFoundError } from '../../core/errors.js';
import type { User } from '../../core/resources.js';
import { AlreadyExistsError } from '../../store/errors.js';
import type { Store } from '../../store/store.js';
import { listAll } from '../store-pages.js';
import { BOOTSTRAP_ADMIN_ID } from './bootstrap.js';
import { checkPasswordRules, hashPassword } from './passwords.js';
import type { Tokens } from './tokens.js';

/** The name of the tokens login mints (login.ts). */
export const SESSION_TOKEN_NAME = 'login session';

/** A user as the API answers it. */
export interface UserView {
  id: string;
  name: string;
  groups: string[];
  disabled: boolean;
  hasPassword: boolean;
  createdAt: string;
}

/** What creating a user takes. */
export interface UserInput {
  name: unknown;
  groups?: unknown;
  password?: unknown;
}

/** What can change on a user. */
export interface UserChange {
  groups?: unknown;
  disabled?: unknown;
}

/** The view of a stored user. */
export function userView(u: User): UserView {
  return {
    id: u.id,
    name: u.name,
    groups: [...u.groups],
    disabled: u.disabled,
    hasPassword: u.passwordHash !== null,
    createdAt: u.createdAt,
  };
}

/** A fresh stable id of a principal: `<prefix>:<16 random base32 characters>`. */
export function newPrincipalId(prefix: 'user' | 'sa'): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz234567';
  let uid = '';
  for (const b of randomBytes(16)) uid += alphabet[b & 31];
  return `${prefix}:${uid}`;
}

/** See the module comment. */
export class Users {
  constructor(
    private readonly store: Store,
    private readonly tokens: Tokens,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async create(input: UserInput): Promise<UserView> {
    const name = principalName(input.name);
    const groups = groupNames(input.groups);
    const password = input.password === undefined ? undefined : checkPasswordRules(input.password);
    const record = {
      id: newPrincipalId('user'),
      name,
      groups,
      passwordHash: password === undefined ? null : await hashPassword(password),
      disabled: false,
      createdAt: this.now().toISOString(),
    };
    try {
      return userView(await this.store.users.create(record));
    } catch (e) {
      if (e instanceof AlreadyExistsError)
        throw new AlreadyExistsError('User', `${JSON.stringify(name)} (names are compared without case)`);
      throw e;
    }
  }

  async list(): Promise<UserView[]> {
    return (await listAll<'User'>(this.store.users)).map(userView);
  }

  async get(name: unknown): Promise<UserView> {
    return userView(await this.record(name));
  }

  /** The stored user with this name (any case), or NOT_FOUND. */
  async record(name: unknown): Promise<User> {
    const key = principalName(name);
    try {
      return await this.store.users.get(key);
    } catch (e) {
      if (hasErrorCode(e, 'NOT_FOUND')) throw new NotFoundError(`user ${JSON.stringify(key)} not found`);
      throw e;
    }
  }

  /** The stored user with this id, or undefined (the id may be a token's owner with no record). */
  async byId(id: string): Promise<User | undefined> {
    const page = await this.store.users.list({ id, limit: 1 });
    return page.items[0];
  }

  /**
   * Sets a new password and revokes the user's login sessions (a password changed because it
   * leaked must not leave sessions opened with it); API tokens the user made stay.
   */
  async setPassword(name: unknown, password: unknown): Promise<UserView> {
    const hash = await hashPassword(checkPasswordRules(password));
    const view = await this.change(name, (u) => ({ ...u, passwordHash: hash }));
    for (const t of await this.tokens.list(view.id))
      if (t.revokedAt === null && t.name === SESSION_TOKEN_NAME) await this.tokens.revoke(t.id);
    return view;
  }

  async update(name: unknown, change: UserChange): Promise<UserView> {
    const groups = change.groups === undefined ? undefined : groupNames(change.groups);
    if (change.disabled !== undefined && typeof change.disabled !== 'boolean')
      throw new InvalidArgumentError('disabled: must be true or false');
    const disabled = change.disabled as boolean | undefined;
    const view = await this.change(name, (u) => {
      if (disabled === true && u.id === BOOTSTRAP_ADMIN_ID)
        throw new InvalidArgumentError('disabled: the admin user wharf up created cannot be disabled');
      return { ...u, ...(groups === undefined ? {} : { groups }), ...(disabled === undefined ? {} : { disabled }) };
    });
    return view;
  }

  /** Deletes the user and revokes every token of theirs. */
  async delete(name: unknown): Promise<{ deleted: string; revokedTokens: number }> {
    const user = await this.record(name);
    if (user.id === BOOTSTRAP_ADMIN_ID)
      throw new InvalidArgumentError('name: the admin user wharf up created cannot be deleted');
    await this.store.users.delete(user.name);
    let revoked = 0;
    for (const t of await this.tokens.list(user.id))
      if (t.revokedAt === null) {
        await this.tokens.revoke(t.id);
        revoked++;
      }
    return { deleted: user.name, revokedTokens: revoked };
  }

  /** The admin user `wharf up` creates (id `user:admin`, no password); returns whether it made it. */
  async ensureBootstrapAdmin(): Promise<boolean> {
    try {
      await this.store.users.create({
        id: BOOTSTRAP_ADMIN_ID,
        name: 'admin',
        groups: [],
        passwordHash: null,
        disabled: false,
        createdAt: this.now().toISOString(),
      });
      return true;
    } catch (e) {
      if (e instanceof AlreadyExistsError) return false;
      throw e;
    }
  }

  private async change(name: unknown, edit: (u: User) => User): Promise<UserView> {
    for (;;) {
      const current = await this.record(name);
      try {
        return userView(await this.store.users.update(edit(current)));
      } catch (e) {
        if (!hasErrorCode(e, 'CONFLICT')) throw e;
      }
    }
  }
}
