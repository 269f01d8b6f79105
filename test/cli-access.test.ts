/**
 * The access commands of the CLI against a real control plane: `wharf auth can-i` answers yes or
 * no with exit 0 or 1 (like kubectl) from the API's Authorizer, for the caller and `--as` another
 * user; `wharf role create|list|get` and `wharf rolebinding create|list|delete`, a revoked binding
 * taking effect at the next command.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { type E2eControlPlane, startE2eControlPlane } from './support/control-plane-e2e.js';
import { WHARF_BIN } from './support/processes.js';

const execFileAsync = promisify(execFile);

describe('wharf auth can-i, role, rolebinding', () => {
  let e2e: E2eControlPlane;
  let dana: string;

  before(async () => {
    e2e = await startE2eControlPlane('wharf-cli-access-', {});
    dana = await e2e.tokenFor('dana', { role: 'deployer', environment: 'staging' });
  });
  after(() => e2e?.stop());

  /** Runs the CLI; resolves with its exit code and output (a non-zero exit is an answer here). */
  async function wharf(args: string[], token: string): Promise<{ code: number; stdout: string; stderr: string }> {
    try {
      const { stdout, stderr } = await execFileAsync(process.execPath, [WHARF_BIN, ...args], {
        env: { ...process.env, ...e2e.cliEnv(token) },
      });
      return { code: 0, stdout, stderr };
    } catch (e) {
      const failed = e as { code: number; stdout: string; stderr: string };
      return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
    }
  }

  test('can-i: yes (exit 0) where a role grants it, no (exit 1) where none does, with the reason', async () => {
    const yes = await wharf(['auth', 'can-i', 'deploy', '-e', 'staging'], dana);
    assert.deepEqual([yes.code, yes.stdout], [0, 'yes\n'], yes.stderr);
    assert.match(yes.stderr, /role deployer/);
    const no = await wharf(['auth', 'can-i', 'deploy', '-e', 'production'], dana);
    assert.deepEqual([no.code, no.stdout], [1, 'no\n'], no.stderr);
    assert.match(no.stderr, /no role granting deployments:create in environment production/);
    assert.equal((await wharf(['auth', 'can-i', 'approve', '-e', 'staging'], dana)).stdout, 'no\n');
    assert.equal((await wharf(['auth', 'can-i', 'secrets:read', '-e', 'staging'], dana)).stdout, 'yes\n');
    const bad = await wharf(['auth', 'can-i', 'fly', '-e', 'staging'], dana);
    assert.equal(bad.code, 2, 'an unknown verb is a usage error (400)');
    assert.match(bad.stderr, /permission: "fly" is neither a permission/);
  });

  test('can-i --as: an admin asks for dana by name; dana may not ask for others', async () => {
    const asDana = await wharf(['auth', 'can-i', 'scale', '-e', 'staging', '--as', 'dana'], e2e.adminToken);
    assert.deepEqual([asDana.code, asDana.stdout], [0, 'yes\n'], asDana.stderr);
    const prod = await wharf(['auth', 'can-i', 'scale', '-e', 'production', '--as', 'user:dana'], e2e.adminToken);
    assert.deepEqual([prod.code, prod.stdout], [1, 'no\n']);
    const refused = await wharf(['auth', 'can-i', 'scale', '-e', 'staging', '--as', 'alice'], dana);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /roles:admin/);
  });

  test('role create and rolebinding create grant at once; rolebinding delete revokes at the next command', async () => {
    const created = await wharf(
      [
        'role',
        'create',
        'release-manager',
        '--permission',
        'rollouts:promote,deployments:read',
        '--description',
        'promotes',
      ],
      e2e.adminToken,
    );
    assert.equal(created.code, 0, created.stderr);
    assert.match(
      (await wharf(['role', 'list'], e2e.adminToken)).stdout,
      /release-manager\s+custom\s+rollouts:promote,deployments:read/,
    );
    assert.match((await wharf(['role', 'get', 'viewer'], dana)).stdout, /viewer \(built-in\)/);
    assert.equal((await wharf(['auth', 'can-i', 'promote', '-e', 'production'], dana)).stdout, 'no\n');
    const bound = await wharf(
      ['rolebinding', 'create', '--user', 'dana', '--role', 'release-manager', '-e', 'production'],
      e2e.adminToken,
    );
    assert.equal(bound.code, 0, bound.stderr);
    const id = /role binding (rb-[0-9a-f]+)/.exec(bound.stdout)?.[1];
    assert.ok(id, bound.stdout);
    assert.match(bound.stdout, /user user:dana is release-manager in default\/production/);
    assert.equal((await wharf(['auth', 'can-i', 'promote', '-e', 'production'], dana)).stdout, 'yes\n');
    assert.match((await wharf(['rolebinding', 'list', '-e', 'production'], e2e.adminToken)).stdout, new RegExp(id));
    // dana (no roles:admin) cannot grant herself more.
    const selfGrant = await wharf(['rolebinding', 'create', '--user', 'dana', '--role', 'admin'], dana);
    assert.equal(selfGrant.code, 1);
    assert.match(selfGrant.stderr, /roles:admin/);
    assert.equal((await wharf(['rolebinding', 'delete', id], e2e.adminToken)).code, 0);
    assert.equal((await wharf(['auth', 'can-i', 'promote', '-e', 'production'], dana)).stdout, 'no\n');
  });
});
