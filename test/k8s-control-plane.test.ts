/**
 * `wharf up --runtime kubernetes` end to end against the test API server: push a model, deploy it
 * with the CLI, and call it through Wharf's gateway. Everything between is real — the controller
 * applies the revision's objects with server-side apply, the simulated kubelet runs the pods'
 * commands (`wharf fetch-artifact` downloads the artifact from this control plane's registry and
 * verifies it, `wharf serve-model` serves it on the pod's own IP), and the gateway routes to the
 * pod endpoints the runtime reports. Then scale, delete, and nothing is left on the "cluster".
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { writeDemoModels } from '../src/demo/write-demo-models.js';
import { FakeKubeApi } from './support/fake-kube-api.js';
import { adminTokenOf, startWharf, WHARF_BIN, type WharfProcess, untilWharfUp } from './support/processes.js';
import { killReplicaProcesses } from './support/runtime.js';
import { freePort } from './support/ports.js';
import { eventually } from './support/eventually.js';

const run = promisify(execFile);
const TAG = `k8scp${process.pid}`;
const BODY = JSON.stringify({
  inputs: [{ name: 'input', shape: [1, 16], datatype: 'FP32', data: new Array(16).fill(0.2) }],
});
const home = mkdtempSync(join(tmpdir(), 'wharf-k8s-cp-'));
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
  assert.deepEqual(killReplicaProcesses(`${TAG}/`), [], 'pod processes left behind');
});

test('deploy, call through the gateway, scale and delete on the kubernetes runtime', async () => {
  const kubeconfig = join(home, 'kubeconfig');
  writeFileSync(kubeconfig, fake.kubeConfigYaml());
  const apiPort = await freePort();
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
    '--namespace',
    'staging=ml-staging',
  ]);
  const { gateway } = await untilWharfUp(up);
  const cli = (args: string[]) =>
    run(process.execPath, [WHARF_BIN, ...args], {
      env: { ...process.env, WHARF_URL: api, WHARF_TOKEN: adminTokenOf(join(home, 'wharf')) },
    });
  const model = (await writeDemoModels(join(home, 'models'))).readmission;
  await cli(['model', 'push', 'risk', model, '--version', '1.0.0']);
  await cli([
    'deploy',
    'create',
    '--name',
    'risk',
    '--model',
    'risk',
    '--version',
    '1.0.0',
    '-e',
    'staging',
    '--replicas',
    '2',
    '--wait',
    '--timeout',
    '90',
  ]);

  const deployment = fake.store.get('apps/v1/deployments', 'ml-staging', 'risk-r1');
  assert.ok(deployment, "the revision is a Deployment in the environment's namespace");
  assert.equal(deployment.metadata.managedFields?.length, 1);
  assert.equal((deployment.metadata.managedFields![0] as { manager: string }).manager, 'wharf');
  for (const kind of ['/v1/services', '/v1/configmaps'])
    assert.ok(fake.store.list(kind, 'ml-staging').length > 0, kind);

  const infer = (): Promise<Response> =>
    fetch(`${gateway}/staging/risk/v2/models/risk/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: BODY,
    });
  const answer = await eventually(
    async () => {
      const res = await infer();
      return res.status === 200
        ? ((await res.json()) as { model_version: string; outputs: { name: string }[] })
        : undefined;
    },
    { timeoutMs: 30_000, intervalMs: 100, message: 'an answer through the gateway' },
  );
  assert.equal(answer.model_version, '1.0.0');
  assert.ok(answer.outputs.some((o) => o.name === 'probability'));

  await cli(['deploy', 'scale', 'risk', '-e', 'staging', '--replicas', '3', '--wait', '--timeout', '90']);
  assert.equal(fake.kubelet!.runningPods().length, 3);
  const { stdout: logs } = await cli(['logs', 'risk', '-e', 'staging']);
  assert.match(logs, /serving risk 1\.0\.0/);

  await cli(['deploy', 'delete', 'risk', '-e', 'staging']);
  await eventually(
    async () =>
      [
        'apps/v1/deployments',
        '/v1/services',
        '/v1/configmaps',
        '/v1/serviceaccounts',
        '/v1/pods',
        'policy/v1/poddisruptionbudgets',
        'networking.k8s.io/v1/networkpolicies',
      ].every((r) => fake.store.list(r, 'ml-staging').length === 0)
        ? true
        : undefined,
    { timeoutMs: 60_000, intervalMs: 100, message: 'nothing of the deployment left on the cluster' },
  );
  assert.equal((await infer()).status, 404);
});
