/**
 * The control plane is killed with SIGKILL in the middle of an update. Meanwhile a standalone
 * `wharf gateway` keeps serving with its last route table (replicas outlive the control plane);
 * after a restart on the same home, the deployment converges with exactly the desired replicas of
 * the new revision: nothing doubled, the old revision removed, and nothing left after stop.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { promisify } from 'node:util';
import { writeDemoModels } from '../src/demo/write-demo-models.js';
import { pidsWithArg, replicaPidsWithArg } from './support/process-scan.js';
import {
  adminAuth,
  adminTokenOf,
  startWharf,
  WHARF_BIN,
  type WharfProcess,
  untilWharfUp,
} from './support/processes.js';
import { freePort } from './support/ports.js';
import { consistently, eventually } from './support/eventually.js';

const run = promisify(execFile);
const BODY = JSON.stringify({
  inputs: [{ name: 'input', shape: [1, 16], datatype: 'FP32', data: new Array(16).fill(0.1) }],
});

const home = mkdtempSync(join(tmpdir(), 'wharf-restart-'));
const started: WharfProcess[] = [];
after(async () => {
  for (const p of started) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
  for (const pid of pidsWithArg(home)) process.kill(pid, 'SIGKILL');
  rmSync(home, { recursive: true, force: true });
});

test('kill -9 of the control plane mid-update: the gateway keeps serving, the restart converges without doubling', async () => {
  const modelFile = (await writeDemoModels(join(home, 'src-models'))).readmission;
  const [apiPort, gwPort] = [await freePort(), await freePort()];
  const api = `http://127.0.0.1:${apiPort}`;
  const upArgs = ['up', '--home', home, '--port', String(apiPort), '--gateway-port', String(gwPort), '--no-demo'];
  const cli = (args: string[]) =>
    run(process.execPath, [WHARF_BIN, ...args], {
      env: { ...process.env, WHARF_URL: api, WHARF_TOKEN: adminTokenOf(home) },
    });
  const startUp = async (): Promise<WharfProcess> => {
    const up = startWharf(upArgs);
    started.push(up);
    await untilWharfUp(up);
    return up;
  };
  const deployment = () =>
    fetch(`${api}/api/v1/environments/staging/deployments/risk`, { headers: adminAuth(home) }).then(
      (r) =>
        r.json() as Promise<{
          revision: number;
          status: { phase: string; readyReplicas: number; observedRevision: number };
        }>,
    );

  const up1 = await startUp();
  await cli(['model', 'push', 'risk', modelFile, '--version', '1.0.0']);
  await cli(['model', 'push', 'risk', modelFile, '--version', '1.1.0']);
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
    '60',
  ]);
  const upPid = up1.child.pid!;
  const replicas = () =>
    replicaPidsWithArg(home).filter((pid) => pid !== upPid && !started.some((p) => p.child.pid === pid));

  // A gateway of its own, following the control plane's route table.
  const gw = startWharf(['gateway', '--control-plane', api, '--port', '0'], { WHARF_TOKEN: adminTokenOf(home) });
  started.push(gw);
  const gatewayUrl = await eventually(async () => /listening at (\S+),/.exec(gw.stdout())?.[1], {
    timeoutMs: 30_000,
    intervalMs: 100,
    message: 'the gateway URL',
  });
  const infer = (): Promise<Response> =>
    fetch(`${gatewayUrl}/staging/risk/v2/models/risk/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: BODY,
    });
  await eventually(async () => ((await infer()).status === 200 ? true : undefined), {
    timeoutMs: 30_000,
    intervalMs: 100,
    message: 'the gateway to route to the deployment',
  });

  // Update to 1.1.0 with 3 replicas, and kill the control plane once the new replicas are starting.
  await cli(['deploy', 'update', 'risk', '-e', 'staging', '--version', '1.1.0', '--replicas', '3']);
  await eventually(async () => (replicas().length > 2 ? true : undefined), {
    timeoutMs: 30_000,
    intervalMs: 100,
    message: 'new replicas to start',
  });
  up1.child.kill('SIGKILL');
  await up1.exited;

  // The control plane is down: the standalone gateway still serves with its last table.
  let ok = 0;
  for (let i = 0; i < 30; i++) if ((await infer()).status === 200) ok++;
  assert.equal(ok, 30, 'every call through the gateway succeeds while the control plane is down');

  await startUp();
  const converged = await eventually(
    async () => {
      const d = await deployment();
      return d.revision === 2 &&
        d.status.observedRevision === 2 &&
        d.status.phase === 'running' &&
        d.status.readyReplicas === 3
        ? d
        : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 100, message: 'revision 2 running with 3 ready replicas' },
  );
  assert.equal(converged.status.readyReplicas, 3);
  await eventually(async () => (replicas().length === 3 ? true : undefined), {
    timeoutMs: 30_000,
    intervalMs: 100,
    message: 'exactly 3 replica processes (old revision removed, none doubled)',
  });
  // A controller that doubled replicas would show it within this time; no later event says it had its
  // chance, so this watches 1.5 s and fails at the first moment with other than 3 processes.
  await consistently(
    1_500,
    () => {
      assert.equal(replicas().length, 3, 'still exactly 3 replica processes');
      return true;
    },
    { intervalMs: 100 },
  );
  const answer = await eventually(
    async () => {
      const r = await infer();
      const body = (await r.json()) as { model_version?: string };
      return body.model_version === '1.1.0' ? body : undefined;
    },
    { timeoutMs: 30_000, intervalMs: 100, message: 'the gateway to serve 1.1.0' },
  );
  assert.equal(answer.model_version, '1.1.0');

  for (const p of started) if (p.child.exitCode === null) p.child.kill('SIGTERM');
  for (const p of started) await p.exited;
  await eventually(async () => (pidsWithArg(home).length === 0 ? true : undefined), {
    timeoutMs: 20_000,
    intervalMs: 100,
    message: 'no process of this home left',
  });
});
