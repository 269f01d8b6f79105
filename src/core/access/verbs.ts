/**
 * The words people use for permissions (`wharf auth can-i deploy -e production`), as kubectl's
 * `auth can-i` takes verbs: each names one permission; a permission's own name is accepted too.
 * Pure data.
 */
import { isPermission, type Permission } from './permissions.js';

/** Verb → permission. */
export const PERMISSION_VERBS: Readonly<Record<string, Permission>> = Object.freeze({
  deploy: 'deployments:create',
  update: 'deployments:update',
  scale: 'deployments:scale',
  rollback: 'deployments:rollback',
  delete: 'deployments:delete',
  promote: 'rollouts:promote',
  abort: 'rollouts:abort',
  retry: 'rollouts:retry',
  approve: 'approvals:decide',
  push: 'models:push',
  infer: 'infer',
});

/** The permission a verb or permission name stands for, or undefined. */
export function permissionOfVerb(word: string): Permission | undefined {
  if (isPermission(word)) return word;
  return Object.hasOwn(PERMISSION_VERBS, word) ? PERMISSION_VERBS[word] : undefined;
}
