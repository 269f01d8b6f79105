/**
 * `wharf up --runtime kubernetes` with an application and a worker (issue 15), against the test
 * API server: `wharf deploy apply -f` of both, the controller builds their workloads with their
 * kinds and applies them, the simulated kubelet runs their commands (the `image` itself is not
 * pulled: the test server has no containers), the application's pod answers on its port (`$(PORT)`
 * expanded), the worker runs, ready, with no Service. Then both are deleted and nothing is left on the "cluster".
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { FakeKubeApi } from './support/fake-kube-api.js';
import { adminTokenOf, startWharf, WHARF_BIN, type WharfProcess, untilWharfUp } from './support/processes.js';
import { killReplicaProcesses } from './support/runtime.js';
import { freePort } from './support/ports.js';
import { eventually } from './support/eventually.js';

const run = promisify(execFile);
const TAG = `k8scpa${process.pid}`;
const home = mkdtempSync(join(tmpdir(), 'wharf-k8s-cp-apps-'));
// The programs live outside /tmp: a pod's /tmp is its own emptyDir (the simulated kubelet maps
// it), and a checkout may itself sit under /tmp (a clean clone), so its dist/ is not always outside.
const code = mkdtempSync(
  join(
    [join(process.cwd(), 'dist'), '/dev/shm', homedir()].find((d) => !`${d}/`.startsWith('/tmp/') && existsSync(d))!,
    'wharf-k8s-cp-apps-',
  ),
);
let fake: FakeKubeApi;
let up: WharfProcess | undefined;
process.on('exit', () => killReplicaProcesses(`${TAG}/`));

before(async () => {
  fake = await FakeKubeApi.start({
    kubelet: { wharfBin: WHARF_BIN, workDir: join(home, 'pods'), envTag: TAG, probeIntervalMs: 50 },
  });
});

after(async () => {
  if (up && up.child.exitCode === null) {
    up.child.kill('SIGTERM');
    await up.exited;
  }
  await fake?.stop();
  rmSync(home, { recursive: true, force: true });
  rmSync(code, { recursive: true, force: true });
  assert.deepEqual(killReplicaProcesses(`${TAG}/`), [], 'pod processes left behind');
});

test('an application and a worker deployed on the kubernetes runtime: the application answers on its port, the worker runs without a Service', async () => {
  const kubeconfig = join(home, 'kubeconfig');
  writeFileSync(kubeconfig, fake.kubeConfigYaml());
  const server = join(code, 'server.cjs');
  writeFileSync(
    server,
    `require('node:http').createServer((req, res) => res.end(JSON.stringify({ app: 'web', path: req.url, port: process.env.PORT })))` +
      `.listen(Number(process.argv[3]), process.argv[2]);\nprocess.on('SIGTERM', () => process.exit(0));\n`,
  );
  const worker = join(code, 'worker.cjs');
  writeFileSync(worker, `setInterval(() => undefined, 1000);\nprocess.on('SIGTERM', () => process.exit(0));\n`);
  const apiPort = await freePort();
  const appPort = await freePort();
  const api = `http://127.0.0.1:${apiPort}`;
  up = startWharf([
    'up',
    '--home',
    join(home, 'wharf'),
    '--port',
    String(apiPort),
    '--gateway-port',
    '0',
    '--no-demo',
    '--runtime',
    'kubernetes',
    '--kubeconfig',
    kubeconfig,
    '--registry-url',
    api,
  ]);
  await untilWharfUp(up);
  const cli = (args: string[]) =>
    run(process.execPath, [WHARF_BIN, ...args], {
      env: { ...process.env, WHARF_URL: api, WHARF_TOKEN: adminTokenOf(join(home, 'wharf')) },
    });
  const common = { replicas: 1, healthCheck: { path: '/', interval: 1, timeout: 1, retries: 3 } };
  const docs = [
    {
      name: 'web',
      environment: 'staging',
      type: 'application',
      configuration: {
        ...common,
        image: 'node:20-slim',
        command: ['node', server, '0.0.0.0', '$(PORT)'],
        port: appPort,
      },
    },
    {
      name: 'jobs',
      environment: 'staging',
      type: 'worker',
      configuration: { ...common, image: 'node:20-slim', command: ['node', worker], terminationGracePeriod: 5 },
    },
  ];
  const file = join(home, 'stack.yaml');
  writeFileSync(file, docs.map((d) => JSON.stringify(d)).join('\n---\n'));
  await cli(['deploy', 'apply', '-f', file, '--wait', '--timeout', '90']);

  const web = fake.store.get('apps/v1/deployments', 'wharf-staging', 'web-r1');
  assert.ok(web, 'the application is a Deployment');
  assert.ok(fake.store.get('/v1/services', 'wharf-staging', 'web-r1'), 'with a Service');
  assert.ok(fake.store.get('apps/v1/deployments', 'wharf-staging', 'jobs-r1'), 'the worker is a Deployment');
  assert.equal(fake.store.get('/v1/services', 'wharf-staging', 'jobs-r1'), undefined, 'without a Service');

  // Its pod answers on its own IP and port. (Through Wharf's gateway, `/<env>/<name>/…` of an
  // application is the gateway's part of issue 15, tested with it.)
  const pod = fake.store.list('/v1/pods', 'wharf-staging').find((p) => p.metadata.name.startsWith('web-r1-'))!;
  const ip = (pod.status as { podIP: string }).podIP;
  const answer = await eventually(
    async () => {
      const res = await fetch(`http://${ip}:${appPort}/hello`).catch(() => undefined);
      return res?.status === 200 ? ((await res.json()) as { app: string; port: string }) : undefined;
    },
    { timeoutMs: 30_000, intervalMs: 100, message: 'an answer from the pod' },
  );
  assert.equal(answer.app, 'web');
  assert.equal(answer.port, String(appPort));
  const { stdout } = await cli(['deploy', 'get', 'jobs', '-e', 'staging', '-o', 'json']);
  const jobs = JSON.parse(stdout) as { status: { phase: string; readyReplicas: number } };
  assert.equal(jobs.status.phase, 'running');
  assert.equal(jobs.status.readyReplicas, 1);

  await cli(['deploy', 'delete', 'web', '-e', 'staging']);
  await cli(['deploy', 'delete', 'jobs', '-e', 'staging']);
  await eventually(
    async () =>
      ['apps/v1/deployments', '/v1/services', '/v1/pods'].every((r) => fake.store.list(r, 'wharf-staging').length === 0)
        ? true
        : undefined,
    { timeoutMs: 60_000, intervalMs: 100, message: 'nothing of either deployment left on the cluster' },
  );
});
