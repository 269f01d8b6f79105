/**
 * How authorization finds a principal it was told about by name or id, for `can-i --as USER` and
 * for a role binding given as `{ type: 'user', name: 'alice' }`: the users and service accounts
 * authentication keeps. Separate from the Authorizer so that it depends on nothing of authentication
 * but this one lookup.
 */
import type { Principal } from '../../core/identity/principal.js';
import type { ApiToken } from '../../core/resources.js';

/** Finds principals by name or id. */
export interface PrincipalDirectory {
  /** The principal with this id (`user:…`, `sa:…`) or user name, or undefined. */
  find(nameOrId: string): Promise<Principal | undefined>;
}

/**
 * The directory where no users are stored: a principal id (`user:…`, `sa:…`) stands for itself,
 * with no groups; a bare name finds nothing.
 */
export const IDS_ONLY_DIRECTORY: PrincipalDirectory = {
  find: (nameOrId) => {
    const m = /^(user|sa):(.+)$/.exec(nameOrId);
    if (m === null) return Promise.resolve(undefined);
    const principal: Principal = {
      id: nameOrId,
      name: m[2]!,
      type: m[1] === 'sa' ? 'serviceAccount' : 'user',
      groups: [],
      via: 'none',
    };
    return Promise.resolve(principal);
  },
};

/**
 * The directory while the only record of users and service accounts is their tokens: a name or
 * id is found as the owner of a token (revoked and expired ones count: the principal exists);
 * a principal id with no token stands for itself, as in {@link IDS_ONLY_DIRECTORY}.
 */
export function tokenOwnerDirectory(tokens: { list(owner?: string): Promise<ApiToken[]> }): PrincipalDirectory {
  return {
    async find(nameOrId) {
      const all = await tokens.list();
      const owned = all.find((t) => t.owner === nameOrId) ?? all.find((t) => t.ownerName === nameOrId.toLowerCase());
      if (owned === undefined) return IDS_ONLY_DIRECTORY.find(nameOrId);
      if (owned.owner.startsWith('system:')) return undefined;
      return {
        id: owned.owner,
        name: owned.ownerName,
        type: owned.owner.startsWith('sa:') ? 'serviceAccount' : 'user',
        groups: [],
        via: 'token',
      };
    },
  };
}
