/**
 * The identity use cases the API calls, built together over one store and token service: users,
 * service accounts, token management, login, and the directory authorization looks principals up
 * in. `server/` builds it once and hands it to the API and the authenticator.
 */
import type { Store } from '../../store/store.js';
import { type AccessDecider, BOOTSTRAP_ADMIN_ONLY } from './access-check.js';
import { IdentityDirectory } from './directory.js';
import { Login } from './login.js';
import { ServiceAccounts } from './service-accounts.js';
import { TokenManagement } from './token-management.js';
import type { Tokens } from './tokens.js';
import { Users } from './users.js';

/** See the module comment. */
export interface IdentityServices {
  readonly users: Users;
  readonly serviceAccounts: ServiceAccounts;
  readonly tokenManagement: TokenManagement;
  readonly login: Login;
  readonly directory: IdentityDirectory;
  /** Who holds users:admin and tokens:admin (see access-check.ts). */
  readonly access: AccessDecider;
}

/** Builds them; `access` answers tokens:admin (the Authorizer, once wired; see access-check.ts). */
export function identityServices(
  store: Store,
  tokens: Tokens,
  access: AccessDecider = BOOTSTRAP_ADMIN_ONLY,
): IdentityServices {
  const users = new Users(store, tokens);
  const serviceAccounts = new ServiceAccounts(store, tokens);
  return {
    users,
    serviceAccounts,
    tokenManagement: new TokenManagement(tokens, serviceAccounts, access),
    login: new Login(users, tokens),
    directory: new IdentityDirectory(users, serviceAccounts),
    access,
  };
}
