/**
 * The gateway of `wharf up` is a supervised process of its own: `kill -9` of `wharf up` leaves the
 * URL users call answering (replicas and gateway outlive the control plane); a restarted `wharf up`
 * on the same home adopts that gateway (same pid, no second one, no port clash) and keeps feeding
 * it route tables; a gateway that crashes while `wharf up` runs is started again on the same URL;
 * and SIGTERM of `wharf up` leaves no gateway and no replica behind.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { promisify } from 'node:util';
import { writeDemoModels } from '../src/demo/write-demo-models.js';
import { readLastTable, writeLastTable } from '../src/gateway/gateway-state.js';
import { READMISSION_BODY } from './support/control-plane-e2e.js';
import { FakeUpstream, route, table, target } from './support/gateway.js';
import { freePort } from './support/ports.js';
import { gatewayPidsWithArg, pidsWithArg } from './support/process-scan.js';
import { adminTokenOf, startWharf, WHARF_BIN, type WharfProcess, untilWharfUp } from './support/processes.js';
import { processGone } from './support/runtime.js';
import { eventually } from './support/eventually.js';

const run = promisify(execFile);
const home = mkdtempSync(join(tmpdir(), 'wharf-gwproc-'));
const started: WharfProcess[] = [];
after(() => {
  for (const p of started) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
  for (const pid of pidsWithArg(home)) process.kill(pid, 'SIGKILL');
  rmSync(home, { recursive: true, force: true });
});

/** Pids of `wharf gateway` processes of this home, from /proc. */
const gatewayPids = (): number[] => gatewayPidsWithArg(home);
const recordedGatewayPid = (): number =>
  (JSON.parse(readFileSync(join(home, 'gateway', 'gateway.json'), 'utf8')) as { pid: number }).pid;

test('kill -9 of wharf up: the gateway keeps answering, the next wharf up adopts it, SIGTERM stops everything', async () => {
  const [apiPort, gwPort] = [await freePort(), await freePort()];
  const api = `http://127.0.0.1:${apiPort}`;
  const gateway = `http://127.0.0.1:${gwPort}`;
  const cli = (args: string[]) =>
    run(process.execPath, [WHARF_BIN, ...args], {
      env: { ...process.env, WHARF_URL: api, WHARF_TOKEN: adminTokenOf(home) },
    });
  const startUp = async (demo: boolean): Promise<WharfProcess> => {
    const up = startWharf([
      'up',
      '--home',
      home,
      '--port',
      String(apiPort),
      '--gateway-port',
      String(gwPort),
      ...(demo ? [] : ['--no-demo']),
    ]);
    started.push(up);
    await untilWharfUp(up, { timeoutMs: 60_000, untilPrompt: true });
    return up;
  };
  const infer = (environment: string, name: string, model = name): Promise<number> =>
    fetch(`${gateway}/${environment}/${name}/v2/models/${model}/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: READMISSION_BODY,
    }).then(
      async (r) => {
        await r.arrayBuffer();
        return r.status;
      },
      () => 0,
    );

  // (a) The demo model answers through the gateway; then the control plane is killed.
  const up1 = await startUp(true);
  await eventually(async () => ((await infer('development', 'readmission')) === 200 ? true : undefined), {
    timeoutMs: 90_000,
    intervalMs: 100,
    message: 'the demo model to answer through the gateway',
  });
  const [gatewayPid] = gatewayPids();
  assert.ok(gatewayPid !== undefined && gatewayPid !== up1.child.pid, 'the gateway is a process of its own');
  assert.equal(recordedGatewayPid(), gatewayPid);
  up1.child.kill('SIGKILL');
  await up1.exited;
  assert.ok(
    readLastTable(join(home, 'gateway'))?.routes.some((r) => r.deployment === 'readmission'),
    'the gateway recorded its last table',
  );
  let ok = 0;
  for (let i = 0; i < 20; i++) if ((await infer('development', 'readmission')) === 200) ok++;
  assert.equal(ok, 20, 'every call through the gateway URL succeeds while wharf up is dead');

  // (b) A new wharf up adopts the running gateway and keeps publishing route tables to it.
  const up2 = await startUp(false);
  assert.match(up2.stderr(), new RegExp(`adopted the running gateway \\(pid ${gatewayPid}\\)`));
  assert.deepEqual(gatewayPids(), [gatewayPid], 'the same gateway process, and no second one');
  const modelFile = (await writeDemoModels(join(home, 'src-models'))).readmission;
  await cli(['model', 'push', 'risk', modelFile, '--version', '1.0.0']);
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
    '1',
    '--wait',
    '--timeout',
    '60',
  ]);
  await eventually(async () => ((await infer('staging', 'risk')) === 200 ? true : undefined), {
    timeoutMs: 30_000,
    intervalMs: 100,
    message: 'the new deployment to answer through the adopted gateway',
  });
  assert.equal(recordedGatewayPid(), gatewayPid);

  // A gateway that dies while wharf up runs is started again, on the same URL.
  process.kill(gatewayPid!, 'SIGKILL');
  await eventually(
    async () => {
      const pids = gatewayPids();
      return pids.length === 1 && pids[0] !== gatewayPid && (await infer('staging', 'risk')) === 200 ? true : undefined;
    },
    { timeoutMs: 30_000, intervalMs: 100, message: 'a new gateway process to answer' },
  );
  assert.equal(recordedGatewayPid(), gatewayPids()[0]);

  // (c) SIGTERM of wharf up stops the gateway and every replica.
  const survivors = pidsWithArg(home).filter((pid) => pid !== up2.child.pid);
  assert.ok(survivors.length >= 4, `gateway and three replicas run: ${survivors.join(' ')}`);
  up2.child.kill('SIGTERM');
  assert.equal(await up2.exited, 0);
  await eventually(async () => (pidsWithArg(home).length === 0 ? true : undefined), {
    timeoutMs: 20_000,
    intervalMs: 100,
    message: 'no gateway and no replica of this home left',
  });
  assert.ok(survivors.every(processGone), 'every one of them is gone (or a zombie left to an init that does not reap)');
});

test('a gateway started while its control plane is down serves the last route table it recorded', async () => {
  const upstream = new FakeUpstream((_req, res) =>
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}'),
  );
  const url = await upstream.start();
  const stateDir = join(home, 'standalone');
  const port = await freePort();
  const deadControlPlane = `http://127.0.0.1:${await freePort()}`;
  const startGateway = async (): Promise<WharfProcess> => {
    const gw = startWharf([
      'gateway',
      '--control-plane',
      deadControlPlane,
      '--port',
      String(port),
      '--state-dir',
      stateDir,
    ]);
    started.push(gw);
    await eventually(
      async () =>
        /listening at/.test(gw.stdout())
          ? true
          : gw.child.exitCode !== null
            ? Promise.reject(new Error(gw.stderr()))
            : undefined,
      { timeoutMs: 30_000, intervalMs: 100, message: 'the gateway to listen' },
    );
    return gw;
  };
  try {
    // No table recorded yet: nothing to serve while the control plane does not answer.
    const first = await startGateway();
    assert.equal((await fetch(`http://127.0.0.1:${port}/readyz`)).status, 503);
    first.child.kill('SIGTERM');
    await first.exited;
    writeLastTable(stateDir, table(7, [route('staging', 'risk', [target(1, 100, [{ id: 'r1', url }])])]));

    const second = await startGateway();
    const res = await fetch(`http://127.0.0.1:${port}/staging/risk/v2/models/risk/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: READMISSION_BODY,
    });
    assert.equal(res.status, 200, await res.text());
    assert.deepEqual(await (await fetch(`http://127.0.0.1:${port}/readyz`)).json(), { ready: true, tableVersion: 7 });
    second.child.kill('SIGTERM');
    assert.equal(await second.exited, 0);
  } finally {
    await upstream.stop();
  }
});
