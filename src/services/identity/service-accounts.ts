/**
 * Service accounts: create (a random stable id `sa:<uid>`, the name lowercased and unique), list,
 * get and delete (which revokes the account's tokens). They act only through tokens an admin
 * creates for them (token-management.ts).
 */
import { hasErrorCode, NotFoundError } from '../../core/errors.js';
import { label, principalName } from '../../core/identity/names.js';
import type { ServiceAccount } from '../../core/resources.js';
import { AlreadyExistsError } from '../../store/errors.js';
import type { Store } from '../../store/store.js';
import { listAll } from '../store-pages.js';
import type { Tokens } from './tokens.js';
import { newPrincipalId } from './users.js';

/** A service account as the API answers it. */
export interface ServiceAccountView {
  id: string;
  name: string;
  description: string;
  createdAt: string;
}

function view(sa: ServiceAccount): ServiceAccountView {
  return { id: sa.id, name: sa.name, description: sa.description, createdAt: sa.createdAt };
}

/** See the module comment. */
export class ServiceAccounts {
  constructor(
    private readonly store: Store,
    private readonly tokens: Tokens,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async create(input: { name: unknown; description?: unknown }): Promise<ServiceAccountView> {
    const name = principalName(input.name);
    const description = input.description === undefined ? '' : label(input.description, 'description', 500, true);
    try {
      return view(
        await this.store.serviceAccounts.create({
          id: newPrincipalId('sa'),
          name,
          description,
          createdAt: this.now().toISOString(),
        }),
      );
    } catch (e) {
      if (e instanceof AlreadyExistsError)
        throw new AlreadyExistsError('ServiceAccount', `${JSON.stringify(name)} (names are compared without case)`);
      throw e;
    }
  }

  async list(): Promise<ServiceAccountView[]> {
    return (await listAll<'ServiceAccount'>(this.store.serviceAccounts)).map(view);
  }

  async get(name: unknown): Promise<ServiceAccountView> {
    return view(await this.record(name));
  }

  /** The stored account with this name (any case), or NOT_FOUND. */
  async record(name: unknown): Promise<ServiceAccount> {
    const key = principalName(name);
    try {
      return await this.store.serviceAccounts.get(key);
    } catch (e) {
      if (hasErrorCode(e, 'NOT_FOUND')) throw new NotFoundError(`service account ${JSON.stringify(key)} not found`);
      throw e;
    }
  }

  /** The stored account with this id, or undefined. */
  async byId(id: string): Promise<ServiceAccount | undefined> {
    return (await this.store.serviceAccounts.list({ id, limit: 1 })).items[0];
  }

  /** Deletes the account and revokes its tokens. */
  async delete(name: unknown): Promise<{ deleted: string; revokedTokens: number }> {
    const sa = await this.record(name);
    await this.store.serviceAccounts.delete(sa.name);
    let revoked = 0;
    for (const t of await this.tokens.list(sa.id))
      if (t.revokedAt === null) {
        await this.tokens.revoke(t.id);
        revoked++;
      }
    return { deleted: sa.name, revokedTokens: revoked };
  }
}
