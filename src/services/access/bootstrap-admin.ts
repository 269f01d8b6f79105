/**
 * The grant that makes the first administrator one: `user:admin` (the user `wharf up` creates on
 * first start) bound to the built-in `admin` role in every project and environment. The server
 * calls it at every start; it is idempotent and safe to race (the binding's id is fixed by its
 * content, so a second writer gets ALREADY_EXISTS and leaves the first).
 */
import { systemPrincipal } from '../../core/identity/principal.js';
import type { RoleBinding } from '../../core/resources.js';
import { AlreadyExistsError } from '../../store/errors.js';
import type { Store } from '../../store/store.js';
import { BOOTSTRAP_ADMIN_ID } from '../identity/bootstrap.js';
import { bindingId } from './access-admin.js';

export { BOOTSTRAP_ADMIN_ID };

/** Binds {@link BOOTSTRAP_ADMIN_ID} to `admin` on `*`/`*` unless that binding exists; returns it. */
export async function ensureBootstrapAdminBinding(
  store: Store,
  now: () => Date = () => new Date(),
): Promise<RoleBinding> {
  const grant = {
    subject: { type: 'user' as const, id: BOOTSTRAP_ADMIN_ID },
    role: 'admin',
    project: '*',
    environment: '*',
  };
  const id = bindingId(grant);
  try {
    return await store.roleBindings.create({
      id,
      ...grant,
      createdAt: now().toISOString(),
      createdBy: systemPrincipal('bootstrap').id,
    });
  } catch (e) {
    if (e instanceof AlreadyExistsError) return store.roleBindings.get(id);
    throw e;
  }
}
