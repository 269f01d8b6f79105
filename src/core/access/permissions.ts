/**
 * The permissions of the platform (verb on resource, `resource:verb`) and the built-in roles
 * that bundle them. Authorization (services/access) grants a permission through a role bound to a
 * principal in a project and an environment; everything not granted is denied. Pure data.
 */

/** Every permission, grouped by resource. */
export const PERMISSIONS = [
  'models:read',
  'models:push',
  'models:delete',
  'deployments:read',
  'deployments:create',
  'deployments:update',
  'deployments:scale',
  'deployments:rollback',
  'deployments:delete',
  'rollouts:promote',
  'rollouts:abort',
  'rollouts:retry',
  'rollouts:pause',
  'rollouts:resume',
  'approvals:read',
  'approvals:decide',
  'feedback:write',
  'secrets:read',
  'secrets:write',
  /** Rotating the key-encryption key of every secret: admins only. */
  'secrets:admin',
  'audit:read',
  'environments:read',
  'environments:admin',
  'roles:read',
  'roles:admin',
  'users:admin',
  'tokens:create',
  'tokens:admin',
  'policies:read',
  'policies:admin',
  'routes:read',
  'infer',
  'jobs:read',
  'jobs:write',
] as const;

/** One of {@link PERMISSIONS}. */
export type Permission = (typeof PERMISSIONS)[number];

/** The names of the built-in roles. */
export type BuiltinRoleName = 'viewer' | 'deployer' | 'approver' | 'admin';

const READS: readonly Permission[] = [
  'models:read',
  'deployments:read',
  'approvals:read',
  'environments:read',
  'roles:read',
  'policies:read',
  'jobs:read',
];

/** What each built-in role grants. `admin` grants every permission. */
export const BUILTIN_ROLES: Readonly<Record<BuiltinRoleName, readonly Permission[]>> = Object.freeze({
  viewer: READS,
  deployer: [
    ...READS,
    'models:push',
    'deployments:create',
    'deployments:update',
    'deployments:scale',
    'deployments:rollback',
    'deployments:delete',
    'rollouts:promote',
    'rollouts:abort',
    'rollouts:retry',
    'rollouts:pause',
    'rollouts:resume',
    'feedback:write',
    'secrets:read',
    'secrets:write',
    'tokens:create',
    'infer',
    'jobs:write',
  ],
  approver: [...READS, 'approvals:decide', 'audit:read', 'tokens:create'],
  admin: PERMISSIONS,
});

/** Whether `value` names a permission. */
export function isPermission(value: string): value is Permission {
  return (PERMISSIONS as readonly string[]).includes(value);
}
