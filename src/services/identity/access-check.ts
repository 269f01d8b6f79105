/**
 * What the identity services ask of authorization: "does this principal hold this permission?"
 * (tokens:admin lets an admin make tokens for service accounts, list and revoke anyone's). The
 * Authorizer of `services/access` answers it once it is wired in; until then
 * {@link BOOTSTRAP_ADMIN_ONLY} does, granting only the admin `wharf up` created, the anonymous
 * admin of `--auth none` and the control plane's own components.
 */
import type { Permission } from '../../core/access/permissions.js';
import type { Principal } from '../../core/identity/principal.js';
import { BOOTSTRAP_ADMIN_ID } from './bootstrap.js';

/** Answers whether a principal holds a permission (anywhere, or in one environment). */
export interface AccessDecider {
  decide(
    principal: Principal,
    permission: Permission,
    scope?: { project?: string; environment?: string },
  ): Promise<{ allowed: boolean; reason?: string }>;
}

/** Until authorization is wired: the bootstrap admin, `--auth none` and system components only. */
export const BOOTSTRAP_ADMIN_ONLY: AccessDecider = {
  decide: (principal) => {
    const scoped = principal.scopes === undefined || principal.scopes.includes('*');
    const allowed =
      principal.type === 'anonymous' || principal.type === 'system' || (principal.id === BOOTSTRAP_ADMIN_ID && scoped);
    return Promise.resolve({ allowed, reason: allowed ? 'admin' : 'only the admin may' });
  },
};
