/**
 * The authorization rule itself, as a pure function over what the store holds: does this principal,
 * with these role bindings and roles, have this permission in this project and environment? The
 * Authorizer (services/access) feeds it from the store; `wharf auth can-i` and the API's
 * middleware both answer from it, so they cannot disagree. Deny by default: only a binding of the
 * principal (its id, or one of its groups) to a role that includes the permission, in a matching
 * project and environment, grants it; a token's scopes can only narrow that.
 */
import type { Principal } from '../identity/principal.js';
import type { RoleBinding } from '../resources/role-binding.js';
import { BUILTIN_ROLES, type BuiltinRoleName, type Permission } from './permissions.js';

/** The project every resource lives in today. */
export const DEFAULT_PROJECT = 'default';

/** Where a permission is asked for. */
export interface AccessScope {
  /** Default {@link DEFAULT_PROJECT}. */
  project?: string;
  /** Undefined: granted by a binding in any environment of the project. */
  environment?: string;
}

/** An answer, with the reason in words (which binding granted it, or why nothing did). */
export interface AccessDecision {
  allowed: boolean;
  reason: string;
}

/** Whether `name` is a built-in role's name. */
export function isBuiltinRole(name: string): name is BuiltinRoleName {
  return Object.hasOwn(BUILTIN_ROLES, name);
}

/** A readable name of the principal for reasons: `user alice (user:…)`. */
export function describePrincipal(p: Principal): string {
  const type = p.type === 'serviceAccount' ? 'service account' : p.type;
  return p.name === p.id ? `${type} ${p.id}` : `${type} ${p.name} (${p.id})`;
}

function where(scope: AccessScope): string {
  const env = scope.environment === undefined ? 'any environment' : `environment ${scope.environment}`;
  return `${env} of project ${scope.project ?? DEFAULT_PROJECT}`;
}

/** Whether a token's scopes leave `permission` (in `environment`) to what the roles allow. */
function scopeAllows(scopes: readonly string[], permission: Permission, environment: string | undefined): boolean {
  if (scopes.includes('*') || scopes.includes(permission)) return true;
  // `infer:<env>` and `infer:<env>/<deployment>` are the gateway's scopes: they allow inference there.
  if (permission !== 'infer') return false;
  return scopes.some((s) => {
    if (!s.startsWith('infer:')) return false;
    const env = s.slice('infer:'.length).split('/')[0];
    return environment === undefined || env === environment;
  });
}

/** Whether the binding is for this principal: its own id, or one of its groups. */
export function bindsPrincipal(binding: RoleBinding, principal: Principal): boolean {
  const s = binding.subject;
  if (s.type === 'group') return principal.groups.includes(s.id);
  if (s.id !== principal.id) return false;
  return s.type === 'serviceAccount' ? principal.type === 'serviceAccount' : principal.type === 'user';
}

/** Whether the binding applies in `scope` (see {@link AccessScope}). */
export function bindingCovers(binding: RoleBinding, scope: AccessScope): boolean {
  const project = scope.project ?? DEFAULT_PROJECT;
  if (binding.project !== '*' && binding.project !== project) return false;
  return scope.environment === undefined || binding.environment === '*' || binding.environment === scope.environment;
}

/**
 * The decision for `principal` (see the module comment). `rolePermissions` answers a custom role's
 * permissions (undefined for a role that does not exist: a binding to it grants nothing).
 * `anonymous` (`--auth none`, loopback only) and `system` principals are allowed everything (a
 * system principal that came with a token: everything its scopes name).
 */
export function decideAccess(
  principal: Principal,
  permission: Permission,
  scope: AccessScope,
  bindings: readonly RoleBinding[],
  rolePermissions: (role: string) => readonly Permission[] | undefined,
): AccessDecision {
  if (principal.type === 'anonymous')
    return { allowed: true, reason: 'authentication is off (--auth none): every caller acts as an admin' };
  const who = describePrincipal(principal);
  if (principal.scopes !== undefined && !scopeAllows(principal.scopes, permission, scope.environment))
    return {
      allowed: false,
      reason: `the token of ${who} is not scoped for ${permission} (its scopes: ${principal.scopes.join(', ') || 'none'})`,
    };
  // A component of the platform (the gateway, controllers) is bound by its token's scopes alone.
  if (principal.type === 'system') return { allowed: true, reason: `${who} is a component of the platform` };
  for (const binding of bindings) {
    if (!bindsPrincipal(binding, principal) || !bindingCovers(binding, scope)) continue;
    const granted = isBuiltinRole(binding.role) ? BUILTIN_ROLES[binding.role] : rolePermissions(binding.role);
    if (granted?.includes(permission)) {
      const subject = binding.subject.type === 'group' ? `group ${binding.subject.id}` : who;
      return {
        allowed: true,
        reason: `${permission} granted by role ${binding.role} bound to ${subject} in ${binding.project}/${binding.environment} (binding ${binding.id})`,
      };
    }
  }
  return { allowed: false, reason: `${who} has no role granting ${permission} in ${where(scope)}` };
}
