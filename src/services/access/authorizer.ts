/**
 * The Authorizer: answers "may this principal do this, here?" for the API's middleware, the
 * handlers that check again once they know the environment (approvals, policy changes, role
 * bindings) and `wharf auth can-i`, all through the one rule in `core/access/grants.ts`.
 *
 * Bindings and custom roles are kept in memory and made current before every decision: one cheap
 * query asks the change feed whether a Role or RoleBinding was written since the copy was read, and
 * only then are they read again. So a revoked binding stops working for the next request, on every
 * control-plane replica, without a scan of the bindings per request.
 *
 * @example
 *   const authorizer = new Authorizer(store);
 *   await authorizer.check(principal, 'deployments:create', { environment: 'production' });
 */
import { type AccessDecision, type AccessScope, decideAccess } from '../../core/access/grants.js';
import type { Permission } from '../../core/access/permissions.js';
import { PermissionDeniedError } from '../../core/errors.js';
import type { Principal } from '../../core/identity/principal.js';
import type { Role, RoleBinding } from '../../core/resources.js';
import type { Store } from '../../store/store.js';
import { listAll } from '../store-pages.js';

/** What the cache holds: every binding and custom role, as of a change-feed position. */
interface Snapshot {
  readonly bindings: readonly RoleBinding[];
  readonly roles: ReadonlyMap<string, Role>;
}

const ACCESS_KINDS = ['Role', 'RoleBinding'] as const;

/** See the module comment. */
export class Authorizer {
  #snapshot: Snapshot | undefined;
  /** The change-feed position up to which the snapshot is known to be current. */
  #currentTo = -1;
  #refreshing: Promise<Snapshot> | undefined;

  constructor(private readonly store: Store) {}

  /** The decision and its reason; never throws for a denial. */
  async decide(principal: Principal, permission: Permission, scope: AccessScope = {}): Promise<AccessDecision> {
    // Neither needs a binding (see grants.ts): no store read.
    if (principal.type === 'anonymous' || principal.type === 'system')
      return decideAccess(principal, permission, scope, [], () => undefined);
    const { bindings, roles } = await this.#current();
    return decideAccess(principal, permission, scope, bindings, (name) => roles.get(name)?.permissions);
  }

  /** Throws {@link PermissionDeniedError} naming the permission and where, unless allowed. */
  async check(principal: Principal, permission: Permission, scope: AccessScope = {}): Promise<void> {
    const decision = await this.decide(principal, permission, scope);
    if (!decision.allowed) throw new PermissionDeniedError(`permission denied: ${decision.reason}`);
  }

  /** The snapshot, read again when a Role or RoleBinding changed since it was read. */
  async #current(): Promise<Snapshot> {
    const latest = await this.store.latestSequence();
    if (this.#snapshot !== undefined) {
      const changed = await this.store.changes(this.#currentTo, { kinds: ACCESS_KINDS, limit: 1 });
      if (changed.length === 0) {
        // Nothing of ours was written up to `latest`: the next check need not look before it.
        this.#currentTo = Math.max(this.#currentTo, latest);
        return this.#snapshot;
      }
    }
    // One read at a time; a caller that arrives during it waits for it and then checks again.
    while (this.#refreshing !== undefined) await this.#refreshing.catch(() => undefined);
    if (this.#snapshot !== undefined && this.#currentTo >= latest) return this.#snapshot;
    this.#refreshing = this.#read(latest);
    try {
      return await this.#refreshing;
    } finally {
      this.#refreshing = undefined;
    }
  }

  async #read(latest: number): Promise<Snapshot> {
    // Bindings and roles read after `latest` was taken: they include every write up to it.
    const [bindings, roles] = await Promise.all([
      listAll<'RoleBinding'>(this.store.roleBindings),
      listAll<'Role'>(this.store.roles),
    ]);
    const snapshot = { bindings, roles: new Map(roles.map((r) => [r.name, r])) };
    this.#snapshot = snapshot;
    this.#currentTo = latest;
    return snapshot;
  }
}
