/**
 * Users, service accounts and login over a real store, SQLite and PostgreSQL: names are compared
 * without case (`Alice` and `alice` are one user), ids are random and stable, only a scrypt hash of
 * a password reaches the database (checked in the SQLite file itself and in the PostgreSQL row), a
 * login refuses an unknown user and a wrong password with the same message, and deleting a user
 * revokes their tokens.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { hasErrorCode } from '../src/core/errors.js';
import { identityServices, type IdentityServices } from '../src/services/identity/identity-services.js';
import { verifyPassword } from '../src/services/identity/passwords.js';
import { Tokens } from '../src/services/identity/tokens.js';
import { openStore } from '../src/store/open-store.js';
import type { Store } from '../src/store/store.js';
import { createTestDatabase } from './support/postgres.js';

const PASSWORD = 'correct horse battery staple';
const postgres = await createTestDatabase();

const backends: {
  name: string;
  skip?: string;
  open(): Promise<{ store: Store; raw(): Promise<string>; remove(): Promise<void> }>;
}[] = [
  {
    name: 'sqlite',
    async open() {
      const home = await mkdtemp(join(tmpdir(), 'wharf-identity-users-'));
      const store = await openStore({ home });
      const remove = () => rm(home, { recursive: true, force: true });
      const raw = async (): Promise<string> => {
        const files = await Promise.all(
          ['wharf.db', 'wharf.db-wal'].map((f) => readFile(join(home, f)).catch(() => Buffer.alloc(0))),
        );
        assert.ok(files[0]!.length + files[1]!.length > 0, 'the SQLite files were read');
        return Buffer.concat(files).toString('latin1');
      };
      return { store, raw, remove };
    },
  },
  {
    name: 'postgres',
    ...('skip' in postgres ? { skip: postgres.skip } : {}),
    async open() {
      const db = postgres as { url: string; drop(): Promise<void> };
      const store = await openStore({ home: tmpdir(), url: db.url });
      const raw = async (): Promise<string> => {
        const client = new pg.Client({ connectionString: db.url });
        await client.connect();
        try {
          const tables = await client.query<{ table_name: string }>(
            "select table_name from information_schema.tables where table_schema = 'public'",
          );
          let all = '';
          for (const { table_name } of tables.rows)
            all += JSON.stringify((await client.query(`select * from "${table_name}"`)).rows);
          return all;
        } finally {
          await client.end();
        }
      };
      return { store, raw, remove: () => db.drop() };
    },
  },
];

for (const backend of backends) {
  describe(`users, service accounts and login (${backend.name})`, { skip: backend.skip }, () => {
    let store: Store;
    let raw: () => Promise<string>;
    let tokens: Tokens;
    let identity: IdentityServices;
    let remove: () => Promise<void> = () => Promise.resolve();
    before(async () => {
      ({ store, raw, remove } = await backend.open());
      tokens = new Tokens(store);
      identity = identityServices(store, tokens);
    });
    after(async () => {
      await store?.close();
      await remove();
    });

    test('a name is lowercased and unique without case: Alice and alice are one user', async () => {
      const alice = await identity.users.create({ name: 'Alice', groups: ['ml-team'], password: PASSWORD });
      assert.equal(alice.name, 'alice');
      assert.match(alice.id, /^user:[a-z2-7]{16}$/);
      assert.deepEqual(alice.groups, ['ml-team']);
      assert.equal(alice.hasPassword, true);
      assert.ok(!('passwordHash' in alice), 'a view carries no hash');
      for (const name of ['alice', 'ALICE', ' Alice ']) {
        await assert.rejects(identity.users.create({ name }), (e: Error) => {
          assert.ok(hasErrorCode(e, 'ALREADY_EXISTS'), e.message);
          assert.match(e.message, /"alice".*without case/);
          return true;
        });
      }
      assert.equal((await identity.users.get('ALICE')).id, alice.id, 'found by any case of its name');
      assert.equal((await identity.users.list()).filter((u) => u.name === 'alice').length, 1);
      const other = await identity.users.create({ name: 'bob' });
      assert.notEqual(other.id, alice.id);
      assert.equal((await identity.users.byId(alice.id))?.name, 'alice', 'found by id');
    });

    test('bad names, groups and passwords are 400s naming the field', async () => {
      const cases: [Record<string, unknown>, RegExp][] = [
        [{ name: '' }, /^name: /],
        [{ name: 'a/b' }, /^name: /],
        [{ name: 42 }, /^name: must be a string/],
        [{ name: 'x'.repeat(65) }, /^name: /],
        [{ name: 'carol', groups: 'admins' }, /^groups: /],
        [{ name: 'carol', groups: [''] }, /^groups\[0\]: /],
        [{ name: 'carol', password: 'short' }, /^password: must be 8 to 1024 characters$/],
      ];
      for (const [input, message] of cases)
        await assert.rejects(
          identity.users.create(input as { name: unknown }),
          (e: Error) => hasErrorCode(e, 'INVALID_ARGUMENT') && message.test(e.message),
          JSON.stringify(input),
        );
      await assert.rejects(identity.users.get('carol'), (e: Error) => hasErrorCode(e, 'NOT_FOUND'));
    });

    test('only a scrypt hash of the password reaches the database', async () => {
      await identity.users.create({ name: 'dora', password: PASSWORD });
      const record = await identity.users.record('dora');
      assert.match(record.passwordHash!, /^scrypt\$32768\$8\$1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
      assert.equal(await verifyPassword(PASSWORD, record.passwordHash!), true);
      assert.equal(await verifyPassword(`${PASSWORD}!`, record.passwordHash!), false);
      // A fresh salt per password: the same password hashes differently for another user.
      await identity.users.create({ name: 'dora2', password: PASSWORD });
      assert.notEqual((await identity.users.record('dora2')).passwordHash, record.passwordHash);
      const everything = await raw();
      assert.ok(everything.includes(record.passwordHash!), 'the hash itself was found, so the search looked');
      assert.ok(!everything.includes(PASSWORD), 'the password is nowhere in the database');
    });

    test('login: a session token for the right password; the same 401 for a wrong one, an unknown user or a disabled one', async () => {
      await identity.users.create({ name: 'erin', password: PASSWORD, groups: ['ops'] });
      const ok = await identity.login.login('Erin', PASSWORD);
      assert.equal(ok.user.name, 'erin');
      const record = await tokens.resolve(ok.token);
      assert.equal(record.owner, ok.user.id);
      assert.deepEqual(record.scopes, ['*']);
      const hours = (Date.parse(ok.expiresAt) - Date.now()) / 3_600_000;
      assert.ok(hours > 11.9 && hours <= 12, `a session lasts 12 h, got ${hours}`);
      const messages: string[] = [];
      for (const [name, password] of [
        ['erin', 'wrong password'],
        ['nobody', PASSWORD],
        ['bad/name', PASSWORD],
        ['erin', 42],
      ] as const) {
        await assert.rejects(identity.login.login(name, password), (e: Error) => {
          assert.ok(hasErrorCode(e, 'UNAUTHENTICATED'), e.message);
          messages.push(e.message);
          return true;
        });
      }
      assert.equal(new Set(messages).size, 1, `one message for every refusal: ${messages.join(' | ')}`);
      assert.ok(!messages[0]!.includes(PASSWORD));
      await identity.users.update('erin', { disabled: true });
      await assert.rejects(identity.login.login('erin', PASSWORD), (e: Error) => e.message === messages[0]);
      await identity.users.update('erin', { disabled: false });
      const { token: apiToken } = await tokens.mint({
        owner: ok.user.id,
        ownerName: 'erin',
        name: 'ci',
        scopes: ['*'],
        expiresAt: new Date(Date.now() + 60_000),
      });
      await identity.users.setPassword('erin', 'a new password');
      await assert.rejects(tokens.resolve(ok.token), /was revoked/, 'a new password ends the login sessions');
      assert.equal((await tokens.resolve(apiToken)).name, 'ci', 'API tokens stay');
      await assert.rejects(identity.login.login('erin', PASSWORD), (e: Error) => e.message === messages[0]);
      assert.equal((await identity.login.login('erin', 'a new password')).user.name, 'erin');
      // A user without a password cannot log in at all.
      await identity.users.create({ name: 'frank' });
      await assert.rejects(identity.login.login('frank', ''), (e: Error) => e.message === messages[0]);
    });

    test('deleting a user or a service account revokes their tokens', async () => {
      await identity.users.create({ name: 'gina', password: PASSWORD });
      const session = await identity.login.login('gina', PASSWORD);
      assert.deepEqual(await identity.users.delete('GINA'), { deleted: 'gina', revokedTokens: 1 });
      await assert.rejects(tokens.resolve(session.token), /was revoked/);
      await assert.rejects(identity.users.get('gina'), (e: Error) => hasErrorCode(e, 'NOT_FOUND'));

      const sa = await identity.serviceAccounts.create({ name: 'CI-Bot', description: 'deploys from CI' });
      assert.equal(sa.name, 'ci-bot');
      assert.match(sa.id, /^sa:[a-z2-7]{16}$/);
      await assert.rejects(identity.serviceAccounts.create({ name: 'ci-bot' }), (e: Error) =>
        hasErrorCode(e, 'ALREADY_EXISTS'),
      );
      const { token } = await tokens.mint({
        owner: sa.id,
        ownerName: sa.name,
        name: 'ci',
        scopes: ['deployments:read'],
        expiresAt: new Date(Date.now() + 60_000),
      });
      assert.equal((await identity.directory.find('sa/ci-bot'))?.id, sa.id);
      assert.equal((await identity.directory.find(sa.id))?.type, 'serviceAccount');
      assert.deepEqual(await identity.serviceAccounts.delete('ci-bot'), { deleted: 'ci-bot', revokedTokens: 1 });
      await assert.rejects(tokens.resolve(token), /was revoked/);
    });

    test('the admin user of wharf up is created once, as user:admin, and cannot be deleted or disabled', async () => {
      assert.equal(await identity.users.ensureBootstrapAdmin(), true);
      assert.equal(await identity.users.ensureBootstrapAdmin(), false);
      const admin = await identity.users.get('admin');
      assert.equal(admin.id, 'user:admin');
      assert.equal(admin.hasPassword, false);
      await assert.rejects(identity.users.delete('admin'), (e: Error) => hasErrorCode(e, 'INVALID_ARGUMENT'));
      await assert.rejects(identity.users.update('admin', { disabled: true }), (e: Error) =>
        hasErrorCode(e, 'INVALID_ARGUMENT'),
      );
      assert.equal((await identity.directory.find('Admin'))?.id, 'user:admin');
      assert.equal(await identity.directory.find('nobody'), undefined);
    });
  });
}
