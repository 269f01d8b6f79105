// The supervisor of `wharf up`'s gateway process on its own: a second supervisor on the same state
// folder adopts a running gateway that fits (same pid), replaces one that follows another control
// plane or listens elsewhere, and stop() leaves no process behind.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { GatewayProcess, type GatewayProcessOptions } from '../src/server/gateway-process.js';
import { freePort } from './support/ports.js';
import { gatewayPidsWithArg } from './support/process-scan.js';
import { WHARF_BIN } from './support/processes.js';
import { processGone } from './support/runtime.js';

const root = mkdtempSync(join(tmpdir(), 'wharf-gwsup-'));
after(() => {
  for (const pid of gatewayPidsWithArg(root)) process.kill(pid, 'SIGKILL');
  rmSync(root, { recursive: true, force: true });
});

test('adopts a gateway that fits, replaces one that does not, and stops it', async () => {
  // No control plane answers here: the gateway starts anyway and keeps retrying the watch.
  const options = (controlPlane: string, port: number): GatewayProcessOptions => ({
    stateDir: join(root, 'gateway'),
    host: '127.0.0.1',
    port,
    controlPlane,
    wharfBin: WHARF_BIN,
    log: () => undefined,
    startTimeoutMs: 500,
  });
  const [cpA, cpB] = [`http://127.0.0.1:${await freePort()}`, `http://127.0.0.1:${await freePort()}`];
  const port = await freePort();
  // Without a control plane there is no route table: the readiness wait times out, the start does not fail.
  const first = await GatewayProcess.start({ ...options(cpA, port), startTimeoutMs: 10_000 });
  assert.equal(first.adopted, false);
  assert.equal(first.url, `http://127.0.0.1:${port}`);
  const pid = first.pid;
  first.detach(); // as if that control plane had been killed

  const again = await GatewayProcess.start(options(cpA, 0));
  assert.equal(again.adopted, true, 'port 0 takes whatever port the running one has');
  assert.equal(again.pid, pid);
  assert.equal(again.url, first.url);
  assert.deepEqual(gatewayPidsWithArg(root), [pid]);
  again.detach();

  const other = await GatewayProcess.start({ ...options(cpB, port), startTimeoutMs: 10_000 });
  assert.equal(other.adopted, false, 'a gateway following another control plane is not adopted');
  assert.notEqual(other.pid, pid);
  assert.ok(processGone(pid), 'and was stopped');
  assert.deepEqual(gatewayPidsWithArg(root), [other.pid]);

  await other.stop();
  assert.ok(processGone(other.pid));
  assert.deepEqual(gatewayPidsWithArg(root), []);
});
