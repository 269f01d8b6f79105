/**
 * The Authorizer over a real store, SQLite and PostgreSQL alike: built-in and custom roles,
 * environment-specific and `*` bindings, group bindings, token scopes, deny by default, revocation
 * seen by the next decision, the bootstrap admin binding, and the role/binding rules of AccessAdmin.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ANONYMOUS_ADMIN, type Principal, systemPrincipal } from '../src/core/identity/principal.js';
import { AccessAdmin } from '../src/services/access/access-admin.js';
import { Authorizer } from '../src/services/access/authorizer.js';
import { BOOTSTRAP_ADMIN_ID, ensureBootstrapAdminBinding } from '../src/services/access/bootstrap-admin.js';
import { ensureEnvironments } from '../src/server/environments.js';
import { openStore } from '../src/store/open-store.js';
import type { Store } from '../src/store/store.js';
import { createTestDatabase } from './support/postgres.js';

const user = (name: string, extra: Partial<Principal> = {}): Principal => ({
  id: `user:${name}-uid`,
  name,
  type: 'user',
  groups: [],
  via: 'token',
  ...extra,
});

const postgres = await createTestDatabase();
const backends: { name: string; skip?: string; open: () => Promise<{ store: Store; done: () => Promise<void> }> }[] = [
  {
    name: 'sqlite',
    open: async () => {
      const home = mkdtempSync(join(tmpdir(), 'wharf-authz-'));
      const store = await openStore({ home });
      return { store, done: async () => rmSync(home, { recursive: true, force: true }) };
    },
  },
  'skip' in postgres
    ? { name: 'postgres', skip: postgres.skip, open: () => Promise.reject(new Error('skipped')) }
    : {
        name: 'postgres',
        open: async () => ({
          store: await openStore({ home: tmpdir(), url: postgres.url }),
          done: () => postgres.drop(),
        }),
      },
];

for (const backend of backends) {
  describe(`Authorizer on ${backend.name}`, { skip: backend.skip }, () => {
    let store: Store;
    let done: () => Promise<void>;
    let authz: Authorizer;
    let admin: AccessAdmin;
    const creator = 'user:admin';

    before(async () => {
      ({ store, done } = await backend.open());
      await ensureEnvironments(store);
      authz = new Authorizer(store);
      admin = new AccessAdmin(store);
    });
    after(async () => {
      await store.close();
      await done();
    });

    test('deny by default: a user with no binding may do nothing, and the reason says so', async () => {
      const nobody = user('nobody');
      for (const p of ['deployments:read', 'models:read', 'approvals:decide', 'roles:admin'] as const) {
        const d = await authz.decide(nobody, p, { environment: 'staging' });
        assert.equal(d.allowed, false, p);
        assert.match(d.reason, new RegExp(`no role granting ${p} in environment staging`));
      }
      assert.equal((await authz.decide(nobody, 'deployments:read')).allowed, false, 'nor in any environment');
      await assert.rejects(
        authz.check(nobody, 'deployments:create', { environment: 'production' }),
        (e: Error & { code?: string }) =>
          e.code === 'PERMISSION_DENIED' && /deployments:create/.test(e.message) && /production/.test(e.message),
      );
    });

    test('built-in roles per environment: a deployer in staging is a viewer in production', async () => {
      const dana = user('dana');
      await admin.createBinding(
        { subject: { type: 'user', id: dana.id }, role: 'deployer', environment: 'staging' },
        creator,
      );
      await admin.createBinding(
        { subject: { type: 'user', id: dana.id }, role: 'viewer', environment: 'production' },
        creator,
      );
      assert.equal((await authz.decide(dana, 'deployments:create', { environment: 'staging' })).allowed, true);
      assert.equal((await authz.decide(dana, 'deployments:create', { environment: 'production' })).allowed, false);
      assert.equal((await authz.decide(dana, 'deployments:read', { environment: 'production' })).allowed, true);
      assert.equal((await authz.decide(dana, 'deployments:read', { environment: 'development' })).allowed, false);
      assert.equal((await authz.decide(dana, 'approvals:decide', { environment: 'staging' })).allowed, false);
      // No environment asked: granted by a binding in any environment of the project.
      assert.equal((await authz.decide(dana, 'deployments:create')).allowed, true);
      // Another project: the bindings (project default) do not reach it.
      assert.equal(
        (await authz.decide(dana, 'deployments:read', { project: 'other', environment: 'production' })).allowed,
        false,
      );
      const ok = await authz.decide(dana, 'deployments:scale', { environment: 'staging' });
      assert.match(ok.reason, /role deployer bound to user dana .* in default\/staging/);
    });

    test('a `*` binding covers every environment; anonymous and system principals are allowed', async () => {
      const eve = user('eve');
      await admin.createBinding({ subject: { type: 'user', id: eve.id }, role: 'approver' }, creator);
      for (const env of ['development', 'staging', 'production'])
        assert.equal((await authz.decide(eve, 'approvals:decide', { environment: env })).allowed, true, env);
      assert.equal((await authz.decide(eve, 'deployments:create', { environment: 'staging' })).allowed, false);
      assert.equal((await authz.decide(ANONYMOUS_ADMIN, 'roles:admin', { environment: 'production' })).allowed, true);
      assert.equal((await authz.decide(systemPrincipal('controller'), 'deployments:update')).allowed, true);
    });

    test('group bindings: a member gets the role, a non-member does not, and a user id is not a group', async () => {
      await admin.createBinding(
        { subject: { type: 'group', id: 'ml-platform' }, role: 'deployer', environment: 'production' },
        creator,
      );
      const member = user('gina', { groups: ['ml-platform'] });
      const outsider = user('omar', { groups: ['finance'] });
      const d = await authz.decide(member, 'deployments:rollback', { environment: 'production' });
      assert.equal(d.allowed, true);
      assert.match(d.reason, /group ml-platform/);
      assert.equal(
        (await authz.decide(outsider, 'deployments:rollback', { environment: 'production' })).allowed,
        false,
      );
      // A user whose id is the group's name is not a member of it.
      const impostor: Principal = { ...user('x'), id: 'ml-platform' };
      assert.equal(
        (await authz.decide(impostor, 'deployments:rollback', { environment: 'production' })).allowed,
        false,
      );
      // A service-account binding does not grant to a user with the same id, nor the other way round.
      await admin.createBinding({ subject: { type: 'serviceAccount', id: 'sa:ci' }, role: 'deployer' }, creator);
      const ci: Principal = { id: 'sa:ci', name: 'ci', type: 'serviceAccount', groups: [], via: 'token' };
      assert.equal((await authz.decide(ci, 'models:push')).allowed, true);
      assert.equal((await authz.decide({ ...ci, type: 'user' }, 'models:push')).allowed, false);
    });

    test('token scopes narrow the roles: `*` keeps them, a listed permission only that, never more', async () => {
      const sam = user('sam');
      await admin.createBinding(
        { subject: { type: 'user', id: sam.id }, role: 'deployer', environment: 'staging' },
        creator,
      );
      const all = { ...sam, scopes: ['*'] };
      const readOnly = { ...sam, scopes: ['deployments:read'] };
      const wider = { ...sam, scopes: ['approvals:decide', 'deployments:read'] };
      assert.equal((await authz.decide(all, 'deployments:create', { environment: 'staging' })).allowed, true);
      assert.equal((await authz.decide(readOnly, 'deployments:read', { environment: 'staging' })).allowed, true);
      const narrowed = await authz.decide(readOnly, 'deployments:create', { environment: 'staging' });
      assert.equal(narrowed.allowed, false);
      assert.match(narrowed.reason, /not scoped for deployments:create/);
      // A scope grants nothing the roles do not.
      assert.equal((await authz.decide(wider, 'approvals:decide', { environment: 'staging' })).allowed, false);
      const noScopes = { ...sam, scopes: [] };
      assert.equal((await authz.decide(noScopes, 'deployments:read', { environment: 'staging' })).allowed, false);
    });

    test('custom roles grant exactly their permissions; their rules are enforced', async () => {
      await admin.createRole(
        { name: 'release-manager', description: 'promotes', permissions: ['rollouts:promote', 'deployments:read'] },
        creator,
      );
      const rita = user('rita');
      await admin.createBinding(
        { subject: { type: 'user', id: rita.id }, role: 'release-manager', environment: 'production' },
        creator,
      );
      assert.equal((await authz.decide(rita, 'rollouts:promote', { environment: 'production' })).allowed, true);
      assert.equal((await authz.decide(rita, 'rollouts:abort', { environment: 'production' })).allowed, false);
      await assert.rejects(admin.createRole({ name: 'admin', permissions: ['models:read'] }, creator), /built-in/);
      await assert.rejects(admin.createRole({ name: 'x', permissions: ['models:fly'] }, creator), /permissions\[0\]/);
      await assert.rejects(
        admin.createRole({ name: 'Bad Name', permissions: ['models:read'] }, creator),
        /name: must be a DNS label/,
      );
      await assert.rejects(admin.createRole({ name: 'empty', permissions: [] }, creator), /permissions: must list/);
      await assert.rejects(
        admin.createRole({ name: 'release-manager', permissions: ['models:read'] }, creator),
        (e: Error & { code?: string }) => e.code === 'ALREADY_EXISTS',
      );
      // A role in use cannot be deleted; once unbound it can.
      await assert.rejects(
        admin.deleteRole('release-manager'),
        (e: Error & { code?: string }) => e.code === 'CONFLICT',
      );
      await assert.rejects(admin.deleteRole('viewer'), /built-in/);
      const binding = (await admin.listBindings({ subject: { type: 'user', id: rita.id } }))[0]!;
      await admin.deleteBinding(binding.id);
      await admin.deleteRole('release-manager');
      assert.equal((await authz.decide(rita, 'rollouts:promote', { environment: 'production' })).allowed, false);
      assert.deepEqual(
        (await admin.listRoles()).filter((r) => r.builtin).map((r) => r.name),
        ['viewer', 'deployer', 'approver', 'admin'],
      );
    });

    test('binding rules: unknown role, environment and subject type are refused; the same grant twice is ALREADY_EXISTS', async () => {
      const id = 'user:brian-uid';
      await assert.rejects(
        admin.createBinding({ subject: { type: 'user', id }, role: 'nope' }, creator),
        /role: no role named "nope"/,
      );
      await assert.rejects(
        admin.createBinding({ subject: { type: 'user', id }, role: 'viewer', environment: 'mars' }, creator),
        /environment: no environment named "mars"/,
      );
      await assert.rejects(
        admin.createBinding({ subject: { type: 'robot' as 'user', id }, role: 'viewer' }, creator),
        /subject.type: must be one of/,
      );
      await admin.createBinding({ subject: { type: 'user', id }, role: 'viewer', environment: 'staging' }, creator);
      await assert.rejects(
        admin.createBinding({ subject: { type: 'user', id }, role: 'viewer', environment: 'staging' }, creator),
        (e: Error & { code?: string }) => e.code === 'ALREADY_EXISTS',
      );
    });

    test('a deleted binding stops granting at the next decision, also to another Authorizer (another replica)', async () => {
      const rev = user('rev');
      const other = new Authorizer(store);
      const b = await admin.createBinding(
        { subject: { type: 'user', id: rev.id }, role: 'deployer', environment: 'production' },
        creator,
      );
      assert.equal((await authz.decide(rev, 'deployments:update', { environment: 'production' })).allowed, true);
      assert.equal((await other.decide(rev, 'deployments:update', { environment: 'production' })).allowed, true);
      // Unrelated writes after the copy was read do not hide the deletion.
      await store.environments.create({
        name: 'qa',
        runtime: 'local',
        policies: { requiresApproval: false },
        labels: {},
      });
      await admin.deleteBinding(b.id);
      assert.equal((await authz.decide(rev, 'deployments:update', { environment: 'production' })).allowed, false);
      assert.equal((await other.decide(rev, 'deployments:update', { environment: 'production' })).allowed, false);
    });

    test('the bootstrap admin binding: user:admin is admin everywhere, and ensuring it twice keeps one binding', async () => {
      const first = await ensureBootstrapAdminBinding(store);
      const second = await ensureBootstrapAdminBinding(store);
      assert.equal(first.id, second.id);
      const bootstrap = await admin.listBindings({ subject: { type: 'user', id: BOOTSTRAP_ADMIN_ID } });
      assert.equal(bootstrap.length, 1);
      assert.deepEqual([bootstrap[0]!.role, bootstrap[0]!.project, bootstrap[0]!.environment], ['admin', '*', '*']);
      const root = user('admin', { id: BOOTSTRAP_ADMIN_ID });
      assert.equal((await authz.decide(root, 'roles:admin', { environment: 'production' })).allowed, true);
      assert.equal((await authz.decide(root, 'secrets:write', { project: 'any', environment: 'qa' })).allowed, true);
    });
  });
}
