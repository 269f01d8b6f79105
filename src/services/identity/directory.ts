/**
 * Finds a principal by what people type: a user name (any case), a service account's name as
 * `sa/<name>`, or a principal id (`user:…`, `sa:…`). Authorization uses it for `can-i --as` and for
 * bindings given by name (it matches the `PrincipalDirectory` shape of services/access).
 */
import { hasErrorCode } from '../../core/errors.js';
import type { Principal } from '../../core/identity/principal.js';
import type { ServiceAccount, User } from '../../core/resources.js';
import type { ServiceAccounts } from './service-accounts.js';
import type { Users } from './users.js';

function ofUser(u: User): Principal {
  return { id: u.id, name: u.name, type: 'user', groups: [...u.groups], via: 'none' };
}

function ofServiceAccount(sa: ServiceAccount): Principal {
  return { id: sa.id, name: sa.name, type: 'serviceAccount', groups: [], via: 'none' };
}

/** See the module comment. */
export class IdentityDirectory {
  constructor(
    private readonly users: Users,
    private readonly serviceAccounts: ServiceAccounts,
  ) {}

  /** The principal, or undefined when nothing matches. */
  async find(nameOrId: string): Promise<Principal | undefined> {
    const missing = (e: unknown): undefined => {
      if (hasErrorCode(e, 'NOT_FOUND') || hasErrorCode(e, 'INVALID_ARGUMENT')) return undefined;
      throw e;
    };
    if (nameOrId.startsWith('user:')) {
      const u = await this.users.byId(nameOrId);
      return u === undefined ? undefined : ofUser(u);
    }
    if (nameOrId.startsWith('sa:')) {
      const sa = await this.serviceAccounts.byId(nameOrId);
      return sa === undefined ? undefined : ofServiceAccount(sa);
    }
    if (nameOrId.startsWith('sa/')) {
      const sa = await this.serviceAccounts.record(nameOrId.slice(3)).catch(missing);
      return sa === undefined ? undefined : ofServiceAccount(sa);
    }
    const u = await this.users.record(nameOrId).catch(missing);
    return u === undefined ? undefined : ofUser(u);
  }
}
