/**
 * The CLI's failures, from outside: `node bin/wharf.js …` against a real control plane. A closed
 * pipe ends quietly; bad flags, unknown environments, missing files, unsupported types, stale
 * documents and non-ONNX pushes each say what is wrong and what to do, in one line, with the exit
 * code of their kind (src/cli/exit-codes.ts, listed in `wharf --help` and the README).
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { EXIT_CODES } from '../src/cli/exit-codes.js';
import type { Deployment } from '../src/core/resources.js';
import { type E2eControlPlane, startE2eControlPlane } from './support/control-plane-e2e.js';
import { freePort } from './support/ports.js';
import { pidsWithArg } from './support/process-scan.js';
import { REPO_ROOT, WHARF_BIN } from './support/processes.js';

let e2e: E2eControlPlane;
let scratch = '';

before(async () => {
  e2e = await startE2eControlPlane('wharf-cli-errors-', { '1.0.0': {} });
  scratch = await mkdtemp(join(tmpdir(), 'wharf-cli-files-'));
  // A deployment without replicas: something to read and change that costs no process.
  const created = await e2e.api('/api/v1/deployments', {
    method: 'POST',
    json: {
      name: 'quiet',
      environment: 'staging',
      model: { name: 'risk', version: '1.0.0' },
      configuration: { replicas: 0 },
    },
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
});

after(async () => {
  await rm(scratch, { recursive: true, force: true });
  await e2e?.stop();
});

interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `wharf …args` to its end. */
function cli(args: readonly string[], options: { input?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Outcome> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [WHARF_BIN, ...args],
      { env: { ...process.env, ...e2e.cliEnv(), ...options.env } },
      (error, stdout, stderr) =>
        resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
    if (options.input !== undefined) child.stdin!.end(options.input);
  });
}

/** One line `wharf: …` (or a few), never a stack trace. */
function assertNoStack(outcome: Outcome): void {
  assert.doesNotMatch(outcome.stderr, /^\s+at /m, `no stack trace: ${outcome.stderr}`);
}

const file = async (name: string, text: string): Promise<string> => {
  const path = join(scratch, name);
  await writeFile(path, text);
  return path;
};

test('a reader that goes away (`| head -1`) ends the command quietly with 0, not an EPIPE stack trace', async () => {
  const child = spawn(process.execPath, [WHARF_BIN, 'deploy', 'get', 'quiet', '-e', 'staging'], {
    env: { ...process.env, ...e2e.cliEnv() },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // Close the reading end before the command writes anything: every write it makes fails with EPIPE.
  child.stdout.destroy();
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const [code, signal] = (await once(child, 'exit')) as [number | null, string | null];
  assert.equal(signal, null);
  assert.equal(code, 0, stderr);
  assert.equal(stderr, '', 'nothing on stderr');
});

test('-o xml is a usage error (exit 2) naming the formats there are', async () => {
  const outcome = await cli(['deploy', 'get', 'quiet', '-e', 'staging', '-o', 'xml']);
  assert.equal(outcome.code, EXIT_CODES.usage.code, outcome.stderr);
  assert.match(outcome.stderr, /--output.*'xml'.*must be table, json or yaml/);
  assertNoStack(outcome);
  const list = await cli(['deploy', 'list', '--output', 'xml']);
  assert.equal(list.code, EXIT_CODES.usage.code, list.stderr);
  assertNoStack(list);
});

test('type: application without a command names configuration.command, from the API and the CLI', async () => {
  const direct = await e2e.api('/api/v1/deployments', {
    method: 'POST',
    json: { name: 'app', environment: 'staging', type: 'application' },
  });
  assert.equal(direct.status, 400);
  const error = direct.body.error as { field: string; message: string };
  assert.equal(error.field, 'configuration.command');
  assert.match(error.message, /^configuration\.command: is required/);

  const doc = await file('app.yaml', 'name: app\nenvironment: staging\ntype: application\n');
  const outcome = await cli(['deploy', 'apply', '-f', doc]);
  assert.equal(outcome.code, EXIT_CODES.usage.code, outcome.stderr);
  assert.match(outcome.stderr, /configuration\.command: is required/);
  assert.doesNotMatch(outcome.stderr, /expected object/);
});

test('an unknown environment is named as not found (API 404, CLI exit 3), not the deployment', async () => {
  const direct = await e2e.api('/api/v1/environments/nowhere/deployments/quiet');
  assert.equal(direct.status, 404);
  assert.match((direct.body.error as { message: string }).message, /^environment "nowhere" not found/);
  const missingDeployment = await e2e.api('/api/v1/environments/staging/deployments/ghost');
  assert.match(
    (missingDeployment.body.error as { message: string }).message,
    /deployment "ghost" not found in environment "staging"/,
    'a known environment still names the deployment',
  );

  const outcome = await cli(['deploy', 'get', 'quiet', '-e', 'nowhere']);
  assert.equal(outcome.code, EXIT_CODES.notFound.code, outcome.stderr);
  assert.match(outcome.stderr, /^wharf: environment "nowhere" not found/);
});

test('a missing input file says "file not found: PATH" (exit 2), not a raw ENOENT', async () => {
  const missing = join(scratch, 'no-such-dir', 'risk.yaml');
  for (const args of [
    ['deploy', 'apply', '-f', missing],
    ['model', 'push', 'risk', missing, '--version', '9.9.9'],
    ['predict', 'quiet', '-e', 'staging', '--file', missing],
  ]) {
    const outcome = await cli(args);
    assert.equal(outcome.code, EXIT_CODES.usage.code, `${args.join(' ')}: ${outcome.stderr}`);
    assert.equal(outcome.stderr, `wharf: file not found: ${missing}\n`, args.join(' '));
  }
});

test('exit codes tell usage, not found, conflict and server errors apart, and --help and the README list them', async () => {
  const codes = Object.values(EXIT_CODES).map((e) => e.code);
  assert.equal(new Set(codes).size, codes.length, 'distinct');

  assert.equal((await cli(['deploy', 'frobnicate'])).code, EXIT_CODES.usage.code, 'unknown command');
  assert.equal((await cli(['deploy', 'get', 'quiet'])).code, EXIT_CODES.usage.code, 'missing -e');
  assert.equal(
    (await cli(['deploy', 'scale', 'quiet', '-e', 'staging', '--replicas', 'many'])).code,
    EXIT_CODES.usage.code,
    'bad flag value',
  );
  assert.equal(
    (await cli(['deploy', 'get', 'ghost', '-e', 'staging'])).code,
    EXIT_CODES.notFound.code,
    'no such deployment',
  );
  const taken = await cli([
    'deploy',
    'create',
    '--name',
    'quiet',
    '--model',
    'risk',
    '--version',
    '1.0.0',
    '-e',
    'staging',
    '--replicas',
    '0',
  ]);
  assert.equal(taken.code, EXIT_CODES.conflict.code, taken.stderr);
  const refused = await cli([
    'deploy',
    'create',
    '--name',
    'other',
    '--model',
    'risk',
    '--version',
    '7.7.7',
    '-e',
    'staging',
    '--replicas',
    '0',
  ]);
  assert.equal(refused.code, EXIT_CODES.usage.code, `the API refuses the input (400): ${refused.stderr}`);
  const unreachable = await cli(['deploy', 'list'], { env: { WHARF_URL: `http://127.0.0.1:${await freePort()}` } });
  assert.equal(unreachable.code, EXIT_CODES.server.code, unreachable.stderr);
  assert.match(unreachable.stderr, /cannot reach the Wharf API/);

  const help = await cli(['--help']);
  assert.equal(help.code, 0);
  const readme = await readFile(join(REPO_ROOT, 'README.md'), 'utf8');
  for (const { code, meaning } of Object.values(EXIT_CODES)) {
    assert.ok(help.stdout.includes(`${code}  ${meaning}`), `wharf --help lists exit code ${code}`);
    assert.ok(
      readme.includes(`| ${code} | ${meaning} |`),
      `the README's exit-code table has code ${code} as exit-codes.ts says it`,
    );
  }
});

test("a failing dependency's reason is in the deploy get table and in --wait, not only in -o json", async () => {
  const port = await freePort();
  const created = await e2e.api('/api/v1/deployments', {
    method: 'POST',
    json: {
      name: 'needy',
      environment: 'staging',
      model: { name: 'risk', version: '1.0.0' },
      configuration: {
        replicas: 1,
        healthCheck: {
          interval: 0.5,
          timeout: 0.25,
          retries: 1,
          dependencies: [{ name: 'feature-store', tcp: `127.0.0.1:${port}` }],
        },
      },
    },
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  await e2e.settled(
    'staging',
    'needy',
    (d) => d.status.conditions.some((c) => c.type === 'DependenciesReady' && c.status === 'False'),
    'the dependency condition',
  );

  const table = await cli(['deploy', 'get', 'needy', '-e', 'staging']);
  assert.equal(table.code, 0, table.stderr);
  assert.match(table.stdout, /^DependenciesReady False \(DependencyFailed\): .*feature-store/m);

  const waited = await cli([
    'deploy',
    'scale',
    'needy',
    '-e',
    'staging',
    '--replicas',
    '1',
    '--wait',
    '--timeout',
    '2',
  ]);
  assert.equal(waited.code, EXIT_CODES.failed.code, waited.stderr);
  assert.match(
    waited.stdout,
    /replicas ready \(\w+\); DependenciesReady False .*feature-store/,
    'the progress line says what holds it',
  );
  assert.match(waited.stderr, /timed out .*DependenciesReady False .*feature-store/, 'so does the timeout');
  await e2e.api('/api/v1/environments/staging/deployments/needy', { method: 'DELETE' });
});

test('an applied document with a stale resourceVersion is refused with 409 (exit 4) and changes nothing', async () => {
  const read = await cli(['deploy', 'get', 'quiet', '-e', 'staging', '-o', 'yaml']);
  assert.equal(read.code, 0, read.stderr);
  assert.match(read.stdout, /^resourceVersion: \d+$/m);
  // Someone else changes the deployment after the document was read.
  const other = await e2e.api('/api/v1/environments/staging/deployments/quiet', {
    method: 'PATCH',
    json: { metadata: { labels: { owner: 'bob' } } },
  });
  assert.equal(other.status, 200, JSON.stringify(other.body));
  const before = await e2e.get('staging', 'quiet');

  const outcome = await cli(['deploy', 'apply', '-f', '-'], {
    input: read.stdout.replace(/replicas: 0\n/, 'replicas: 1\n'),
  });
  assert.equal(outcome.code, EXIT_CODES.conflict.code, outcome.stderr);
  assert.match(outcome.stderr, /changed since the document was read .*resourceVersion \d+ is stale/);
  const after: Deployment = await e2e.get('staging', 'quiet');
  assert.equal(after.revision, before.revision, 'no new revision');
  assert.equal(after.configuration.replicas, 0);

  const fresh = await cli(['deploy', 'get', 'quiet', '-e', 'staging', '-o', 'yaml']);
  const same = await cli(['deploy', 'apply', '-f', '-'], { input: fresh.stdout });
  assert.equal(same.code, 0, `a current document still applies: ${same.stderr}`);
  assert.match(same.stdout, /unchanged/);
});

test('a port in use names each busy port, what it was for and the flag that moves it', async () => {
  const home = await mkdtemp(join(tmpdir(), 'wharf-cli-ports-'));
  const busy: Server[] = [];
  try {
    for (let i = 0; i < 2; i++) {
      const server = createServer();
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      busy.push(server);
    }
    const [api, gateway] = busy.map((s) => (s.address() as { port: number }).port) as [number, number];
    const outcome = await cli([
      'up',
      '--home',
      home,
      '--port',
      String(api),
      '--gateway-port',
      String(gateway),
      '--no-demo',
    ]);
    assert.equal(outcome.code, EXIT_CODES.failed.code);
    assert.match(
      outcome.stderr,
      new RegExp(`port ${api} on 127\\.0\\.0\\.1 \\(the API\\) is already in use.*--port PORT`),
    );
    assert.match(
      outcome.stderr,
      new RegExp(`port ${gateway} on 127\\.0\\.0\\.1 \\(the gateway\\) is already in use.*--gateway-port PORT`),
    );
    assertNoStack(outcome);
    assert.deepEqual(pidsWithArg(home), [], 'nothing left running');
  } finally {
    for (const s of busy) await new Promise((resolve) => s.close(resolve));
    await rm(home, { recursive: true, force: true });
  }
});

test('a pushed pickle is refused as not an ONNX model, with where to go: conversion, or application deployments later', async () => {
  // pickle.dumps({'coef': [0.1, 0.2], 'intercept': 0.5}, protocol=4): what `joblib.dump`/`pickle.dump` of a model starts as.
  const pickle = join(scratch, 'model.pkl');
  await writeFile(
    pickle,
    Buffer.from(
      '80049537000000000000007d94288c04636f6566945d9428473fb999999999999a473fc999999999999a658c09696e7465726365707494473fe0000000000000752e',
      'hex',
    ),
  );
  const outcome = await cli(['model', 'push', 'pickled', pickle, '--version', '1.0.0']);
  assert.equal(outcome.code, EXIT_CODES.usage.code, outcome.stderr);
  assert.match(outcome.stderr, /^wharf: artifact: /);
  assert.match(outcome.stderr, /not an ONNX model/);
  assert.match(outcome.stderr, /skl2onnx/);
  assert.match(outcome.stderr, /torch\.onnx\.export/);
  assert.match(outcome.stderr, /wharf app push.*type: application/);
  const versions = await e2e.api('/api/v1/models/pickled/versions');
  assert.ok(
    versions.status === 404 || (versions.body.items as unknown[]).length === 0,
    `no version recorded: ${JSON.stringify(versions.body)}`,
  );
});
