/**
 * Disaster-recovery failover under load: `risk` runs in production (2 replicas) and in `dr` (the
 * environment `wharf up` makes with `failoverFor: production`). A steady stream of inference calls
 * goes to production through the gateway; every production replica is killed with SIGKILL. The
 * gateway sends the calls to dr while production has no usable replica (the answers say so in
 * `x-wharf-failover: dr`), and back once the runtime has restarted production's replicas. Only
 * requests in flight at the kill may fail; the figure is printed. Production's events record both
 * switches. The environment rules (no self, no chain, an existing target) are checked on the API.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { promisify } from 'node:util';
import { writeDemoModels } from '../src/demo/write-demo-models.js';
import { READMISSION_BODY } from './support/control-plane-e2e.js';
import { eventually } from './support/eventually.js';
import { freePort } from './support/ports.js';
import { pidsWithArg, replicaPidsWithArg } from './support/process-scan.js';
import {
  adminAuth,
  adminTokenOf,
  startWharf,
  untilWharfUp,
  WHARF_BIN,
  type WharfProcess,
} from './support/processes.js';

const run = promisify(execFile);
const home = mkdtempSync(join(tmpdir(), 'wharf-dr-'));
let up: WharfProcess | undefined;
after(async () => {
  if (up !== undefined && up.child.exitCode === null) up.child.kill('SIGKILL');
  for (const pid of pidsWithArg(home)) process.kill(pid, 'SIGKILL');
  rmSync(home, { recursive: true, force: true });
});

/** The replica processes of `environment` (the local runtime names the workload in WHARF_WORKLOAD). */
function replicasIn(environment: string): number[] {
  return replicaPidsWithArg(home).filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').includes(`WHARF_WORKLOAD=${environment}/risk@1`);
    } catch {
      return false;
    }
  });
}

test('every production replica killed under load: requests go to dr, then back', { timeout: 240_000 }, async () => {
  const [apiPort, gwPort] = [await freePort(), await freePort()];
  up = startWharf(['up', '--home', home, '--port', String(apiPort), '--gateway-port', String(gwPort), '--no-demo']);
  const { api, gateway } = await untilWharfUp(up, { timeoutMs: 60_000 });
  const cli = (args: string[]) =>
    run(process.execPath, [WHARF_BIN, ...args], {
      env: { ...process.env, WHARF_URL: api, WHARF_TOKEN: adminTokenOf(home) },
    });
  const patchEnvironment = (name: string, body: unknown) =>
    fetch(`${api}/api/v1/environments/${name}`, {
      method: 'PATCH',
      headers: { ...adminAuth(home), 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });

  // The rules of failoverFor: 400 naming the field, nothing changed.
  for (const [name, target, rule] of [
    ['staging', 'staging', /cannot stand in for itself/],
    ['staging', 'nowhere', /does not exist/],
    ['staging', 'dr', /failover does not chain/],
    ['staging', 'production', /dr already stands in for production/],
  ] as const) {
    const r = await patchEnvironment(name, { failoverFor: target });
    const body = (await r.json()) as { error: { message: string } };
    assert.equal(r.status, 400, `${name} → ${target}: ${JSON.stringify(body)}`);
    assert.match(body.error.message, /^failoverFor: /);
    assert.match(body.error.message, rule);
  }
  const dr = (await (await fetch(`${api}/api/v1/environments/dr`, { headers: adminAuth(home) })).json()) as {
    failoverFor?: string;
  };
  assert.equal(dr.failoverFor, 'production');

  const model = (await writeDemoModels(join(home, 'src-models'))).readmission;
  await cli(['model', 'push', 'risk', model, '--version', '1.0.0']);
  const create = ['deploy', 'create', '--name', 'risk', '--model', 'risk', '--version', '1.0.0', '--wait'];
  await cli([...create, '-e', 'production', '--replicas', '2']);
  await cli([...create, '-e', 'dr', '--replicas', '1']);

  // Steady load: 4 callers, one request after another each.
  const counts = { ok: 0, failed: 0, viaDr: 0, viaProductionAfterDr: 0 };
  const failures: string[] = [];
  let running = true;
  const caller = async (): Promise<void> => {
    while (running) {
      try {
        const r = await fetch(`${gateway}/production/risk/v2/models/risk/infer`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: READMISSION_BODY,
        });
        await r.arrayBuffer();
        if (r.status !== 200) {
          counts.failed++;
          failures.push(`${r.status}`);
          continue;
        }
        counts.ok++;
        if (r.headers.get('x-wharf-failover') === 'dr') counts.viaDr++;
        else if (counts.viaDr > 0) counts.viaProductionAfterDr++;
      } catch (e) {
        counts.failed++;
        failures.push((e as Error).message);
      }
    }
  };
  const callers = Array.from({ length: 4 }, () => caller());
  await eventually(async () => counts.ok > 200 || undefined, {
    timeoutMs: 30_000,
    intervalMs: 50,
    message: 'steady traffic to production',
  });
  assert.equal(counts.failed, 0, `no failure before the kill: ${failures.join(', ')}`);
  assert.equal(counts.viaDr, 0, 'production serves while it is up');

  const victims = replicasIn('production');
  assert.equal(victims.length, 2, 'two production replicas');
  assert.equal(replicasIn('dr').length, 1);
  for (const pid of victims) process.kill(pid, 'SIGKILL');

  await eventually(async () => counts.viaDr > 0 || undefined, {
    timeoutMs: 20_000,
    intervalMs: 20,
    message: 'requests served by dr',
  });
  // The runtime restarts production's replicas; traffic returns once one is ready.
  await eventually(async () => counts.viaProductionAfterDr > 50 || undefined, {
    timeoutMs: 60_000,
    intervalMs: 50,
    message: 'traffic back on production',
  });
  running = false;
  await Promise.all(callers);
  process.stdout.write(
    `# dr failover: ${counts.ok + counts.failed} requests, ${counts.failed} failed (goal: only those in flight, at most 4 callers), ` +
      `${counts.viaDr} served by dr, ${counts.viaProductionAfterDr} by production after it came back` +
      `${failures.length > 0 ? ` (failures: ${failures.join(', ')})` : ''}\n`,
  );
  assert.ok(counts.failed <= 4, `at most the 4 requests in flight at the kill fail; failed: ${failures.join(', ')}`);

  const reasons = await eventually(
    async () => {
      const r = await fetch(`${api}/api/v1/environments/production/deployments/risk/events?limit=500`, {
        headers: adminAuth(home),
      });
      const events = ((await r.json()) as { items: { reason: string }[] }).items.map((e) => e.reason);
      const over = events.indexOf('FailedOver');
      return over >= 0 && events.indexOf('FailedBack', over) > over ? events : undefined;
    },
    { timeoutMs: 20_000, intervalMs: 100, message: 'FailedOver then FailedBack events on production/risk' },
  );
  assert.ok(reasons.includes('FailedOver'));

  up.child.kill('SIGTERM');
  await up.exited;
  await eventually(async () => (pidsWithArg(home).length === 0 ? true : undefined), {
    timeoutMs: 20_000,
    intervalMs: 100,
    message: 'no process of this home left',
  });
});
