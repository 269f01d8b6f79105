// Application deployments end to end (issue 15), on a real `wharf up` control plane: bad specs are
// 400s naming the field; bundles that are not tarballs or are too large are refused (400/413) and
// leave nothing; an application pushed with `wharf app push` answers through the gateway under
// /<env>/<name>/…; a replica killed with SIGKILL is replaced; a revision whose command exits at
// once shows CrashLoop with its last log lines while the previous revision keeps serving.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type E2eControlPlane, startE2eControlPlane } from './support/control-plane-e2e.js';
import { WHARF_BIN } from './support/processes.js';
import { eventually } from './support/eventually.js';
import { pidsWithArg } from './support/process-scan.js';

let e2e: E2eControlPlane;
let scratch: string;
const MAX_BUNDLE = 64 * 1024;
/** The server's file name, unique to this run, so its processes are found by their command line. */
const SERVER_FILE = `hello-${process.pid}.js`;

before(async () => {
  e2e = await startE2eControlPlane('wharf-apps-', {}, { maxBundleBytes: MAX_BUNDLE });
  scratch = await mkdtemp(join(tmpdir(), 'wharf-apps-src-'));
});
after(async () => {
  await e2e?.stop();
  await rm(scratch, { recursive: true, force: true });
});

function wharf(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [WHARF_BIN, ...args],
      { env: { ...process.env, ...e2e.cliEnv() } },
      (err, stdout, stderr) =>
        resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

// The app: /healthz, and any other path answers what it saw (its version, path and forwarded prefix).
const SERVER = `
const http = require('node:http');
const version = require('./version.json').version;
http.createServer((req, res) => {
  if (req.url === '/healthz') return res.end('ok');
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ version, path: req.url, prefix: req.headers['x-forwarded-prefix'] ?? null }));
}).listen(Number(process.env.PORT), '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
`;

async function appDir(version: string): Promise<string> {
  const dir = join(scratch, `app-${version}`);
  await mkdir(join(dir, 'srv'), { recursive: true });
  await mkdir(join(dir, '.git'), { recursive: true });
  await writeFile(join(dir, '.git', 'HEAD'), 'ref: refs/heads/main\n');
  await writeFile(join(dir, 'srv', SERVER_FILE), SERVER);
  await writeFile(join(dir, 'srv', 'version.json'), JSON.stringify({ version }));
  await writeFile(join(dir, 'srv', 'big.log'), 'x'.repeat(2 * MAX_BUNDLE));
  await writeFile(join(dir, '.wharfignore'), '# logs stay home\n*.log\n');
  return dir;
}

const appSpec = (name: string, version: string) => ({
  name,
  environment: 'staging',
  type: 'application',
  bundle: { name: 'hello', version },
  configuration: {
    command: [process.execPath, SERVER_FILE],
    workingDir: 'srv',
    replicas: 1,
    healthCheck: { interval: 0.5, timeout: 0.5, retries: 2 },
  },
});

const create = (json: unknown) => e2e.api('/api/v1/deployments', { method: 'POST', json });

test('bad application and worker specs are 400s naming the field, and nothing is recorded', async () => {
  await e2e.cp.store.environments.create({
    name: 'kube',
    runtime: 'kubernetes',
    policies: { requiresApproval: false },
    labels: {},
  });
  const base = { environment: 'staging', configuration: { command: ['/bin/sleep', '60'] } };
  const cases: [string, unknown, string, RegExp][] = [
    ['no command', { name: 'a1', environment: 'staging', type: 'application' }, 'configuration.command', /is required/],
    [
      'port out of range',
      { ...base, name: 'a2', type: 'application', configuration: { ...base.configuration, port: 70000 } },
      'configuration.port',
      /integer from 1 to 65535/,
    ],
    [
      'a worker with a port',
      { ...base, name: 'w1', type: 'worker', configuration: { ...base.configuration, port: 8080 } },
      'configuration.port',
      /worker listens on no port/,
    ],
    [
      'neither image nor bundle on kubernetes',
      { ...base, name: 'a3', environment: 'kube', type: 'application' },
      'configuration.image',
      /image or a bundle is required on the kubernetes runtime/,
    ],
    [
      'a bundle that does not exist',
      { ...base, name: 'a4', type: 'application', bundle: { name: 'nothing', version: '1.0.0' } },
      'bundle.version',
      /has no version/,
    ],
    [
      'a relative program without a bundle',
      { ...base, name: 'a5', type: 'application', configuration: { command: ['./serve.sh'] } },
      'configuration.command',
      /relative program path needs a bundle/,
    ],
  ];
  for (const [what, body, field, rule] of cases) {
    const r = await create(body);
    assert.equal(r.status, 400, `${what}: ${JSON.stringify(r.body)}`);
    const error = r.body.error as { field: string; message: string };
    assert.equal(error.field, field, what);
    assert.match(error.message, rule, what);
  }
  const list = await e2e.api('/api/v1/deployments?environment=staging');
  assert.deepEqual(list.body.items, [], 'no deployment was recorded');
});

test('a bundle that is not a tarball is 400, one over the limit 413, and neither leaves a version or a blob', async () => {
  const push = (body: Uint8Array) =>
    fetch(`${e2e.cp.apiUrl}/api/v1/bundles/junk/versions?version=1.0.0`, {
      method: 'POST',
      body,
      headers: { authorization: `Bearer ${e2e.aliceToken}`, 'content-type': 'application/octet-stream' },
    }).then(async (r) => ({
      status: r.status,
      body: (await r.json()) as { error: { field: string; message: string } },
    }));
  const text = await push(new TextEncoder().encode('just some text, not an archive'));
  assert.equal(text.status, 400, JSON.stringify(text.body));
  assert.equal(text.body.error.field, 'bundle');
  assert.match(text.body.error.message, /gzip-compressed tar archive/);
  const { gzipSync } = await import('node:zlib');
  const gzipNotTar = await push(gzipSync(Buffer.from('gzip, but no tar inside'.repeat(40))));
  assert.equal(gzipNotTar.status, 400, JSON.stringify(gzipNotTar.body));
  const huge = await push(new Uint8Array(MAX_BUNDLE + 1));
  assert.equal(huge.status, 413, JSON.stringify(huge.body));
  assert.match(huge.body.error.message, /^bundle: larger than the limit of 65536 bytes/);
  assert.equal((await e2e.api('/api/v1/bundles/junk/versions')).status, 404, 'no version was recorded');
  assert.deepEqual((await e2e.api('/api/v1/bundles')).body.items, []);
  const { readdir } = await import('node:fs/promises');
  const blobs = await readdir(join(e2e.home, 'blobs'), { recursive: true }).catch(() => []);
  assert.deepEqual(
    blobs.filter((f) => /[0-9a-f]{64}$/.test(String(f))),
    [],
    `no blob left: ${blobs.join(' ')}`,
  );
});

test('an application pushed with wharf app push answers through the gateway; a killed replica is replaced; a crashing revision leaves the previous one serving', async () => {
  const pushed = await wharf(['app', 'push', 'hello', await appDir('1.0.0'), '--version', '1.0.0']);
  assert.equal(pushed.code, 0, pushed.stderr);
  assert.match(
    pushed.stdout,
    /pushed hello 1\.0\.0 \(sha256:[0-9a-f]{64}, 3 files, /,
    'the server, version.json and .wharfignore: not .git, not the ignored log',
  );
  const created = await create(appSpec('hello', '1.0.0'));
  assert.equal(created.status, 201, JSON.stringify(created.body));
  await e2e.settled(
    'staging',
    'hello',
    (d) => d.status.phase === 'running' && d.status.readyReplicas === 1,
    'hello running',
  );
  const answer = await eventually(
    async () => {
      const r = await fetch(`${e2e.cp.gatewayUrl}/staging/hello/greet?x=1`);
      return r.status === 200 ? ((await r.json()) as Record<string, unknown>) : undefined;
    },
    { timeoutMs: 15_000, message: 'an answer through the gateway' },
  );
  assert.deepEqual(answer, { version: '1.0.0', path: '/greet?x=1', prefix: '/staging/hello' });

  // kill -9 of the replica's process: the runtime starts another, and the gateway answers again.
  const [pid] = pidsWithArg(SERVER_FILE).filter((p) => p > 0);
  assert.ok(pid !== undefined, 'the replica process is found');
  process.kill(pid, 'SIGKILL');
  await eventually(
    async () => {
      const [again] = pidsWithArg(SERVER_FILE);
      if (again === undefined || again === pid) return undefined;
      const r = await fetch(`${e2e.cp.gatewayUrl}/staging/hello/again`);
      return r.status === 200;
    },
    { timeoutMs: 20_000, message: 'a new replica process answering' },
  );

  // Revision 2 runs a command that exits at once: CrashLoop with its last log lines; revision 1 serves on.
  const broken = await e2e.api('/api/v1/environments/staging/deployments/hello', {
    method: 'PATCH',
    json: {
      configuration: { command: [process.execPath, '-e', 'console.error("cannot open model.pkl"); process.exit(2)'] },
    },
  });
  assert.equal(broken.status, 200, JSON.stringify(broken.body));
  // The rollout engine stops a crash-looping revision (CrashLoop from the runtime) and says why.
  const looping = await e2e.settled(
    'staging',
    'hello',
    (d) => /crash-looping/.test(JSON.stringify(d.status)),
    'the deployment to report the crash loop',
    30_000,
  );
  const status = JSON.stringify(looping.status);
  assert.match(status, /cannot open model\.pkl/, status);
  assert.match(status, /exited with code 2/, status);
  for (let i = 0; i < 10; i++) {
    const r = await fetch(`${e2e.cp.gatewayUrl}/staging/hello/still`);
    assert.equal(r.status, 200, 'the previous revision keeps serving');
    assert.equal(((await r.json()) as { version: string }).version, '1.0.0');
  }
  await e2e.api('/api/v1/environments/staging/deployments/hello', { method: 'DELETE' });
  await eventually(() => pidsWithArg(SERVER_FILE).length === 0, { timeoutMs: 20_000, message: 'no app process left' });
});
