// The local runtime's command workloads with bundles, and workers: a bundle is verified and
// unpacked once per digest, the command runs inside it (workingDir, $PORT, $(PORT)); a worker gets
// no port and no endpoint, is ready while it runs and its health command passes, and a stop gives
// it its own grace period (SIGTERM, then SIGKILL) with its whole process group gone after.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { create } from 'tar';
import type { WorkloadKey } from '../src/runtime/runtime.js';
import { eventually } from './support/eventually.js';
import {
  FAST_PROBE,
  localRuntimeHarness,
  processGone,
  replicaProcesses,
  sha256Digest,
  statusWhere,
} from './support/runtime.js';

const ENV = `rb${process.pid}`;
const local = localRuntimeHarness(ENV, {
  backoff: { initialMs: 100, maxMs: 1_000 },
  stopGraceMs: 5_000,
  exitPollMs: 20,
});
const key = (deployment: string, revision = 1): WorkloadKey => ({ environment: ENV, deployment, revision });

/** A tarball of `files` (path → content) under the harness root; returns its path and digest. */
async function bundle(name: string, files: Record<string, string>): Promise<{ artifactPath: string; digest: string }> {
  const src = join(local.root, `src-${name}`);
  for (const [path, content] of Object.entries(files)) {
    await mkdir(join(src, path, '..'), { recursive: true });
    await writeFile(join(src, path), content);
  }
  const artifactPath = join(local.root, `${name}.tar.gz`);
  await create({ gzip: true, file: artifactPath, cwd: src, portable: true }, Object.keys(files));
  return { artifactPath, digest: sha256Digest(artifactPath) };
}

// Answers /healthz with its cwd, its argv and $PORT, so the test sees where and how it runs.
const SERVER = `
const http = require('node:http');
const fs = require('node:fs');
const server = http.createServer((req, res) => {
  res.writeHead(200, { 'content-type': 'application/json', connection: 'close' });
  res.end(JSON.stringify({ cwd: process.cwd(), argv: process.argv.slice(2), port: process.env.PORT, data: fs.readFileSync('data.txt', 'utf8') }));
});
server.listen(Number(process.env.PORT), '127.0.0.1');
process.on('SIGTERM', () => server.close(() => process.exit(0)));
`;

test('an application runs inside its bundle: unpacked once per digest, cwd = bundle + workingDir, $(PORT) expanded', async () => {
  const b = await bundle('app', { 'srv/server.js': SERVER, 'srv/data.txt': 'from the bundle' });
  const stateDir = join(local.root, 'state-app');
  const r = local.runtime({ stateDir });
  const k = key('bundled');
  await r.apply({
    key: k,
    replicas: 2,
    command: { argv: [process.execPath, 'server.js', '--listen=$(PORT)'], workingDir: 'srv' },
    bundle: b,
    serves: 'http',
    readiness: { ...FAST_PROBE, path: '/healthz' },
    liveness: { ...FAST_PROBE, path: '/healthz' },
  });
  const status = await eventually(
    statusWhere(r, k, (s) => s.readyReplicas === 2),
    {
      timeoutMs: 15_000,
      message: 'two ready replicas',
    },
  );
  for (const replica of status.replicas) {
    const answer = (await (await fetch(`${replica.endpoint}/healthz`)).json()) as Record<string, unknown>;
    const port = new URL(replica.endpoint!).port;
    assert.equal(answer.port, port, '$PORT is the port the replica listens on');
    assert.deepEqual(answer.argv, [`--listen=${port}`], '$(PORT) is replaced in the arguments');
    assert.equal(answer.data, 'from the bundle');
    assert.match(String(answer.cwd), new RegExp(`/bundles/${b.digest.slice(7)}/srv$`));
  }
  assert.deepEqual(
    (await readdir(join(stateDir, 'bundles'))).filter((n) => !n.startsWith('.')),
    [b.digest.slice(7)],
    'one folder for the digest, shared by both replicas',
  );
  const verified = status.conditions.find((c) => c.type === 'ArtifactVerified');
  assert.equal(verified?.status, 'True', JSON.stringify(status.conditions));
});

test('a bundle whose bytes do not match its digest is not unpacked and no replica starts', async () => {
  const b = await bundle('tampered', { 'server.js': SERVER, 'data.txt': 'x' });
  const r = local.runtime();
  const k = key('tampered');
  await r.apply({
    key: k,
    replicas: 1,
    command: { argv: [process.execPath, 'server.js'] },
    bundle: { artifactPath: b.artifactPath, digest: `sha256:${'0'.repeat(64)}` },
    readiness: { ...FAST_PROBE, path: '/healthz' },
    liveness: { ...FAST_PROBE, path: '/healthz' },
  });
  const status = await eventually(
    statusWhere(r, k, (s) => s.conditions.some((c) => c.type === 'ArtifactVerified' && c.status === 'False')),
    { timeoutMs: 10_000, message: 'a failed verification' },
  );
  assert.equal(status.conditions.find((c) => c.type === 'ArtifactVerified')?.reason, 'DigestMismatch');
  assert.equal(status.replicas[0]?.phase, 'crashed');
  assert.match(status.replicas[0]?.message ?? '', /not started: bundle .* has digest/);
  assert.equal(r.pids(k).length, 0);
});

// A worker: appends "start" to a file, on SIGTERM takes 300 ms to finish, writes "done" and exits;
// its child (a sleep) shares its process group and must not outlive it.
const WORKER = `
const fs = require('node:fs');
const { spawn } = require('node:child_process');
fs.appendFileSync(process.env.OUT, 'start ' + (process.env.PORT ?? 'no-port') + '\\n');
spawn('sleep', ['60'], { stdio: 'ignore' });
setInterval(() => {}, 1000);
process.on('SIGTERM', () => setTimeout(() => { fs.appendFileSync(process.env.OUT, 'done\\n'); process.exit(0); }, 300));
`;

test('a worker: no port, no endpoint, ready while it runs; a stop waits its grace period and leaves no process of its group', async () => {
  const out = join(local.root, 'worker.out');
  const r = local.runtime();
  const k = key('worker');
  await r.apply({
    key: k,
    replicas: 1,
    command: { argv: [process.execPath, '-e', WORKER] },
    serves: 'none',
    env: { OUT: out },
    terminationGracePeriodMs: 3_000,
    readiness: { ...FAST_PROBE, path: '' },
    liveness: { ...FAST_PROBE, path: '' },
  });
  const status = await eventually(
    statusWhere(r, k, (s) => s.readyReplicas === 1),
    {
      timeoutMs: 10_000,
      message: 'a ready worker',
    },
  );
  assert.equal(status.replicas[0]!.endpoint, undefined, 'a worker has no endpoint');
  await eventually(async () => (await readFile(out, 'utf8')) === 'start no-port\n', {
    timeoutMs: 5_000,
    message: 'the worker started',
  });
  // The worker writes its line before it spawns its child: wait for both to be there.
  const group = await eventually(
    async () => {
      const pids = replicaProcesses(`${ENV}/`);
      return pids.length >= 2 ? pids : undefined;
    },
    { timeoutMs: 5_000, message: 'the worker and its child run' },
  );
  await r.remove(k);
  assert.equal(await readFile(out, 'utf8'), 'start no-port\ndone\n', 'finished its task within the grace period');
  for (const pid of group) assert.ok(processGone(pid), `process ${pid} of the group is gone`);
});

test("a worker's health command: ready once it passes, restarted after `retries` failures", async () => {
  const flag = join(local.root, 'healthy');
  await writeFile(flag, '');
  const r = local.runtime();
  const k = key('checked');
  await r.apply({
    key: k,
    replicas: 1,
    command: { argv: [process.execPath, '-e', 'setInterval(() => {}, 1000)'] },
    serves: 'none',
    healthCommand: { argv: ['test', '-e', flag] },
    terminationGracePeriodMs: 500,
    readiness: { ...FAST_PROBE, path: '' },
    liveness: { ...FAST_PROBE, path: '', startupGraceMs: 0 },
  });
  await eventually(
    statusWhere(r, k, (s) => s.readyReplicas === 1),
    { timeoutMs: 10_000, message: 'ready' },
  );
  await rm(flag);
  const restarted = await eventually(
    statusWhere(r, k, (s) => s.replicas[0]?.lastTermination?.reason === 'LivenessFailed'),
    { timeoutMs: 10_000, message: 'a liveness restart' },
  );
  assert.ok(restarted.replicas[0]!.restarts >= 1);
});
