/**
 * `npm start` under a process manager: Docker and systemd signal the process they started, which
 * is npm, not `wharf up`. SIGTERM or SIGINT to npm's pid, and Ctrl-C (SIGINT to the terminal's
 * whole foreground process group), must each stop `wharf up` and every replica it started.
 * Ctrl-C under npm reaches `wharf up` twice, from the terminal and forwarded by npm, a few ms
 * apart: that is one request to stop cleanly, not a second one to exit at once.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { pidsWithArg } from './support/process-scan.js';
import { adminAuth, REPO_ROOT, startWharf, untilWharfUp } from './support/processes.js';
import { eventually, letTimePass } from './support/eventually.js';

const homes: string[] = [];
after(async () => {
  for (const home of homes) {
    for (const pid of pidsWithArg(home)) process.kill(pid, 'SIGKILL');
    await rm(home, { recursive: true, force: true });
  }
});

const commandOf = (pid: number): string => {
  try {
    return `${pid} ${readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').slice(0, 120)}`;
  } catch {
    return `${pid} (gone)`;
  }
};

async function freshHome(): Promise<string> {
  const home = await mkdtemp(join(tmpdir(), 'wharf-npm-start-'));
  homes.push(home);
  return home;
}

/** Resolves once the demo deployment of the API at `api` serves with its 2 replicas. */
async function demoServing(api: string, home: string): Promise<void> {
  await eventually(
    async () => {
      const d = (await (
        await fetch(`${api}/api/v1/environments/development/deployments/readmission`, { headers: adminAuth(home) })
      ).json()) as {
        status: { readyReplicas: number };
      };
      return d.status.readyReplicas === 2 ? true : undefined;
    },
    { timeoutMs: 90_000, intervalMs: 100, message: 'the demo deployment to serve with 2 replicas' },
  );
}

/** `npm start` in this checkout with a fresh home and free ports; resolves once the demo's 2 replicas serve. */
async function npmStart(): Promise<{ npm: ChildProcess; home: string; exited: Promise<unknown> }> {
  const home = await freshHome();
  // detached: npm leads its own process group, as a shell's foreground job (the Ctrl-C case) does.
  const npm = spawn('npm', ['start', '--', '--home', home, '--port', '0', '--gateway-port', '0'], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let out = '';
  let err = '';
  npm.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  npm.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exited = once(npm, 'exit');
  const api = await eventually(
    async () => {
      if (npm.exitCode !== null) throw new Error(`npm start exited: ${err}`);
      return /API (\S+)/.exec(out)?.[1];
    },
    { timeoutMs: 60_000, intervalMs: 100, message: 'wharf up to print its API URL' },
  ).catch((e: unknown) => Promise.reject(new Error(`${(e as Error).message}\n${out}\n${err}`)));
  await demoServing(api, home);
  assert.ok(pidsWithArg(home).length >= 4, 'npm, wharf up and 2 replicas run');
  return { npm, home, exited };
}

for (const [how, send] of [
  ["SIGTERM to npm's pid (docker stop, systemctl stop)", (npm: ChildProcess) => process.kill(npm.pid!, 'SIGTERM')],
  ["SIGINT to npm's pid", (npm: ChildProcess) => process.kill(npm.pid!, 'SIGINT')],
  ['Ctrl-C: SIGINT to the whole foreground process group', (npm: ChildProcess) => process.kill(-npm.pid!, 'SIGINT')],
] as const) {
  test(`npm start: ${how} stops wharf up and every replica`, async () => {
    const { npm, home, exited } = await npmStart();
    send(npm);
    await eventually(async () => (npm.exitCode !== null || npm.signalCode !== null ? true : undefined), {
      timeoutMs: 30_000,
      intervalMs: 100,
      message: 'npm to exit',
    });
    await exited;
    await eventually(async () => (pidsWithArg(home).length === 0 ? true : undefined), {
      timeoutMs: 30_000,
      intervalMs: 100,
      message: 'no process of this home left',
    }).catch(() =>
      assert.fail(
        `still running after npm exited: ${pidsWithArg(home)
          .map((pid) => commandOf(pid))
          .join('; ')}`,
      ),
    );
  });
}

test('the same signal twice within a second (Ctrl-C under npm) is one request: wharf up stops cleanly, exit 0', async () => {
  const home = await freshHome();
  const up = startWharf(['up', '--home', home, '--port', '0', '--gateway-port', '0']);
  const { api } = await untilWharfUp(up, { timeoutMs: 60_000 });
  await demoServing(api, home);
  up.child.kill('SIGINT');
  await letTimePass(10, 'two separate deliveries of SIGINT, well within the one-second window');
  up.child.kill('SIGINT');
  assert.equal(await up.exited, 0, up.stderr());
  assert.doesNotMatch(up.stderr(), /second SIGINT/);
  assert.deepEqual(pidsWithArg(home), [], 'every replica stopped');
});
