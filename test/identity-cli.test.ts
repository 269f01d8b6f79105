/**
 * The identity commands of the CLI, as processes against a real control plane: an admin creates a
 * user (password from stdin) and a service account; the user logs in (`wharf login
 * --password-stdin` writes `$WHARF_HOME/cli-session`, 0600, which the CLI then prefers to the admin
 * credentials), asks `wharf auth whoami`, creates, lists and revokes tokens, and logs out (the
 * session token is revoked and the file removed). No command prints a password or a hash.
 */
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type ControlPlane, startControlPlane } from '../src/server/control-plane.js';
import { readCredentials } from '../src/server/credentials-file.js';
import { WHARF_BIN } from './support/processes.js';

const PASSWORD = 'bob-password-123';

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

describe('identity CLI against a real control plane', () => {
  let home = '';
  let cliHome = '';
  let cp: ControlPlane;

  /** Runs `wharf args…` with `stdin`; WHARF_HOME is the CLI's own folder, which holds a copy of the admin credentials. */
  const wharf = (args: string[], options: { stdin?: string; env?: Record<string, string> } = {}): Promise<Result> =>
    new Promise((resolve) => {
      const child = execFile(
        process.execPath,
        [WHARF_BIN, ...args],
        { env: { ...process.env, WHARF_URL: cp.apiUrl, WHARF_HOME: cliHome, WHARF_TOKEN: '', ...options.env } },
        (error, stdout, stderr) =>
          resolve({ code: error === null ? 0 : ((error as { code?: number }).code ?? 1), stdout, stderr }),
      );
      child.stdin!.end(options.stdin ?? '');
    });
  const ok = async (args: string[], options?: Parameters<typeof wharf>[1]): Promise<string> => {
    const r = await wharf(args, options);
    assert.equal(r.code, 0, `wharf ${args.join(' ')}: ${r.stderr}`);
    assert.ok(!`${r.stdout}${r.stderr}`.includes(PASSWORD), `wharf ${args.join(' ')} prints no password`);
    assert.ok(!/scrypt\$/.test(r.stdout), `wharf ${args.join(' ')} prints no hash`);
    return r.stdout;
  };

  before(async () => {
    home = await mkdtemp(join(tmpdir(), 'wharf-identity-cli-'));
    cliHome = await mkdtemp(join(tmpdir(), 'wharf-identity-cli-home-'));
    cp = await startControlPlane({ home, host: '127.0.0.1', port: 0, gatewayPort: 0, log: () => {} });
  });
  after(async () => {
    await cp?.stop();
    await rm(home, { recursive: true, force: true });
    await rm(cliHome, { recursive: true, force: true });
  });

  test('admin: user create (password on stdin), list, service account create and list', async () => {
    const asAdmin = { WHARF_TOKEN: cp.adminToken! };
    assert.match(
      await ok(['user', 'create', 'Bob', '--group', 'ml', '--password-stdin'], {
        stdin: `${PASSWORD}\n`,
        env: asAdmin,
      }),
      /created user bob \(user:[a-z2-7]{16}\) with a password/,
    );
    const again = await wharf(['user', 'create', 'bob'], { env: asAdmin });
    assert.equal(again.code, 4, `a taken name is a conflict: ${again.stderr}`);
    assert.match(again.stderr, /"bob".*without case/);
    const users = await ok(['user', 'list'], { env: asAdmin });
    assert.match(users, /^bob\s+user:\S+\s+ml\s+set\s+no/m);
    assert.match(users, /^admin\s+user:admin\s/m);
    // A deployer everywhere: what lets bob make tokens of his own (tokens:create).
    await ok(['rolebinding', 'create', '--user', 'bob', '--role', 'deployer'], { env: asAdmin });
    assert.match(
      await ok(['serviceaccount', 'create', 'deployer-bot', '--description', 'CI'], { env: asAdmin }),
      /created service account deployer-bot \(sa:/,
    );
    assert.match(await ok(['sa', 'list'], { env: asAdmin }), /^deployer-bot\s+sa:\S+\s+CI/m);
    // A password read from a terminal only: without --password-stdin on a pipe, a usage error.
    const noTty = await wharf(['user', 'set-password', 'bob'], { env: asAdmin });
    assert.equal(noTty.code, 2, noTty.stderr);
    assert.match(noTty.stderr, /use --password-stdin/);
  });

  test('login writes a 0600 session the CLI then uses; whoami; tokens create, list, revoke; logout revokes it', async () => {
    const wrong = await wharf(['login', '--user', 'bob', '--password-stdin'], { stdin: 'not the password\n' });
    assert.equal(wrong.code, 1, wrong.stderr);
    assert.match(wrong.stderr, /unknown user name or wrong password/);
    assert.ok(!existsSync(join(cliHome, 'cli-session')), 'no session after a refused login');

    assert.match(
      await ok(['login', '--user', 'BOB', '--password-stdin'], { stdin: `${PASSWORD}\n` }),
      /logged in as bob until \d{4}-/,
    );
    const file = join(cliHome, 'cli-session');
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    const session = readCredentials(file)!;
    assert.equal(session.user, 'bob');

    const whoami = await ok(['auth', 'whoami']);
    assert.match(whoami, /^name:\s+bob$/m);
    assert.match(whoami, /^groups:\s+ml$/m);
    assert.match(whoami, /^token:\s+[a-z2-7]{12}$/m);
    const me = JSON.parse(await ok(['auth', 'whoami', '-o', 'json'])) as { id: string; tokenId: string };
    assert.equal(me.tokenId, session.token.slice(6, 18), 'the CLI sends the session token');
    assert.equal((await ok(['auth', 'token'])).trim(), session.token);

    const created = await wharf([
      'token',
      'create',
      '--name',
      'ci',
      '--scope',
      'deployments:read',
      '--scope',
      'models:read',
      '--expires',
      '7d',
    ]);
    assert.equal(created.code, 0, created.stderr);
    const token = created.stdout.trim();
    assert.match(token, /^wharf_[a-z2-7]{12}_[A-Za-z0-9_-]{43}$/, 'stdout is the token alone');
    assert.match(created.stderr, /scopes deployments:read,models:read, expires .*not shown again/);
    const id = token.slice(6, 18);
    const list = await ok(['token', 'list']);
    assert.match(list, new RegExp(`^${id}\\s+ci\\s+bob\\s+deployments:read,models:read\\s+active`, 'm'));
    assert.ok(!list.includes(token.slice(19)), 'no token string in the list');
    const viaToken = JSON.parse(await ok(['auth', 'whoami', '-o', 'json'], { env: { WHARF_TOKEN: token } })) as {
      id: string;
    };
    assert.equal(viaToken.id, me.id, 'WHARF_TOKEN wins over the session');
    assert.match(await ok(['token', 'revoke', id]), new RegExp(`revoked token ${id} \\(ci\\) of bob`));
    const refused = await wharf(['auth', 'whoami'], { env: { WHARF_TOKEN: token } });
    assert.equal(refused.code, 1, refused.stderr);
    assert.match(refused.stderr, /was revoked/);
    const forSa = await wharf(['token', 'create', '--name', 'x', '--service-account', 'deployer-bot']);
    assert.notEqual(forSa.code, 0, 'bob is not an admin');
    assert.match(forSa.stderr, /tokens:admin/);

    assert.match(await ok(['logout']), /logged out bob/);
    assert.ok(!existsSync(file), 'the session file is removed');
    const stale = await wharf(['auth', 'whoami'], { env: { WHARF_TOKEN: session.token } });
    assert.equal(stale.code, 1, 'the session token is revoked');
    assert.match(stale.stderr, /was revoked/);
    assert.match(await ok(['logout']), /not logged in/);
  });

  test('admin: a token for a service account; user set-password and delete', async () => {
    const asAdmin = { WHARF_TOKEN: cp.adminToken! };
    const created = await wharf(
      ['token', 'create', '--name', 'deploys', '--service-account', 'deployer-bot', '-o', 'json'],
      { env: asAdmin },
    );
    assert.equal(created.code, 0, created.stderr);
    const body = JSON.parse(created.stdout) as { token: string; ownerName: string; owner: string };
    assert.equal(body.ownerName, 'deployer-bot');
    const sa = JSON.parse(await ok(['auth', 'whoami', '-o', 'json'], { env: { WHARF_TOKEN: body.token } })) as {
      type: string;
    };
    assert.equal(sa.type, 'serviceAccount');
    assert.match(await ok(['token', 'list'], { env: asAdmin }), /deployer-bot/);

    const newPassword = 'another-password-9';
    assert.match(
      await ok(['user', 'set-password', 'bob', '--password-stdin'], { stdin: newPassword, env: asAdmin }),
      /password of bob set/,
    );
    const oldRefused = await wharf(['login', '--user', 'bob', '--password-stdin'], { stdin: PASSWORD });
    assert.equal(oldRefused.code, 1);
    await ok(['login', '--user', 'bob', '--password-stdin'], { stdin: newPassword });
    const session = readCredentials(join(cliHome, 'cli-session'))!;
    assert.match(await ok(['user', 'delete', 'bob'], { env: asAdmin }), /deleted user bob \(1 token\(s\) revoked\)/);
    const gone = await wharf(['auth', 'whoami'], { env: { WHARF_TOKEN: session.token } });
    assert.equal(gone.code, 1);
    assert.match(await ok(['serviceaccount', 'delete', 'deployer-bot'], { env: asAdmin }), /1 token\(s\) revoked/);
  });

  test('on a terminal, login asks for the password without echoing it', { skip: noScript() }, async () => {
    await cp.identity.users.create({ name: 'ivy', password: PASSWORD });
    const ttyHome = await mkdtemp(join(tmpdir(), 'wharf-identity-tty-'));
    try {
      // util-linux `script` gives the command a pseudo-terminal: what it prints is what a person sees.
      const child = spawn('script', ['-qfec', `${process.execPath} ${WHARF_BIN} login --user ivy`, '/dev/null'], {
        env: { ...process.env, WHARF_URL: cp.apiUrl, WHARF_HOME: ttyHome, WHARF_TOKEN: '' },
      });
      let screen = '';
      let typed = false;
      child.stdout.on('data', (d: Buffer) => {
        screen += d.toString();
        if (!typed && screen.includes('Password: ')) {
          typed = true;
          child.stdin.write(`${PASSWORD}\r`);
        }
      });
      const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
      assert.equal(code, 0, screen);
      assert.match(screen, /Password: /);
      assert.match(screen, /logged in as ivy/);
      assert.ok(!screen.includes(PASSWORD), `the password is not echoed: ${JSON.stringify(screen)}`);
      assert.equal(readCredentials(join(ttyHome, 'cli-session'))?.user, 'ivy', 'the session is written');
    } finally {
      await rm(ttyHome, { recursive: true, force: true });
    }
  });
});

/** Why the terminal test cannot run here, or false when it can. */
function noScript(): string | false {
  try {
    execFileSync('script', ['--version'], { stdio: 'ignore' });
    return false;
  } catch {
    return 'util-linux `script` (a pseudo-terminal) is not installed';
  }
}
