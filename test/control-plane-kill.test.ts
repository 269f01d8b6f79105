/**
 * `kill -9` of a real `wharf up` (issue 17, items 1 and 3), with figures:
 *
 * - the data plane while the control plane is down: the gateway process and the replicas serve
 *   every request of a steady load for {@link DOWN_MS}, and once the control plane is back a new
 *   deployment is served (the gateway picks up changes);
 * - {@link KILLS} kills during a stream of writes (deploys, scales, model pushes): every write the
 *   API acknowledged is there afterwards, `PRAGMA integrity_check` says ok, and the replica
 *   processes are exactly those desired (none doubled, none orphaned).
 *
 * The long versions (60 s down, 50 kills) are `npm run bench:faults`.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { after, before, test } from 'node:test';
import Database from 'better-sqlite3';
import { consistently, eventually, letTimePass } from './support/eventually.js';
import { figure, ServingLoad, startFaultStack, type FaultStack } from './support/faults.js';
import { replicaPidsWithArg } from './support/process-scan.js';

const DOWN_MS = Number(process.env.WHARF_FAULTS_DOWN_MS ?? 5_000);
const KILLS = Number(process.env.WHARF_FAULTS_KILLS ?? 5);

let stack: FaultStack;
before(async () => (stack = await startFaultStack('wharf-kill-')), { timeout: 120_000 });
after(() => stack?.stop());

/** The replica processes of the home (not `wharf up` itself, not the gateway). */
const replicas = () => replicaPidsWithArg(stack.home).filter((pid) => pid !== stack.up.child.pid);

/** Restarts `wharf up` and answers how long until the API served a read again. */
async function restartTimed(): Promise<number> {
  const started = performance.now();
  await stack.restart();
  await eventually(async () => ((await stack.call('/api/v1/deployments')).status === 200 ? true : undefined), {
    timeoutMs: 30_000,
    intervalMs: 50,
    message: 'the API to answer after the restart',
  });
  return performance.now() - started;
}

test(
  'with the control plane killed, the gateway and replicas serve every request; changes are picked up once it returns',
  { timeout: 180_000 },
  async () => {
    const load = new ServingLoad(() => stack.infer(), 2);
    await eventually(async () => (load.ok > 10 ? true : undefined), {
      timeoutMs: 10_000,
      intervalMs: 50,
      message: 'the load to run',
    });
    await stack.kill();
    const before = { ok: load.ok, failed: load.failed };
    // The measurement window: the load keeps sending and counts every answer while the control plane is down.
    await letTimePass(DOWN_MS, 'the outage being measured: the load counts what the data plane serves meanwhile');
    const during = { ok: load.ok - before.ok, failed: load.failed - before.failed };
    const recover = await restartTimed();
    const created = await stack.call('/api/v1/deployments', {
      json: {
        name: 'fresh',
        environment: 'staging',
        model: { name: 'risk', version: '1.0.0' },
        configuration: { replicas: 1 },
      },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const pickedUp = performance.now();
    await eventually(async () => ((await stack.infer('fresh')) === 200 ? true : undefined), {
      timeoutMs: 60_000,
      intervalMs: 100,
      message: 'the gateway to serve a deployment made after the restart',
    });
    await load.stop();
    figure(
      `control plane down ${DOWN_MS / 1000} s: inferences failed`,
      during.failed,
      `of ${during.ok + during.failed}`,
      '0',
    );
    figure('control plane restart: API serving again after', recover / 1000, 's', '< 10 s');
    figure('control plane restart: new deployment served after', (performance.now() - pickedUp) / 1000, 's', '< 30 s');
    assert.equal(during.failed, 0, `failed: ${load.failures.join(', ')}`);
    assert.ok(during.ok > 0, 'the load was served during the outage');
    assert.equal(load.failed, 0, `failed: ${load.failures.join(', ')}`);
  },
);

test(
  `kill -9 ${KILLS} times during a stream of writes: every acknowledged write is kept, the database is intact, no replica doubled`,
  { timeout: 600_000 },
  async () => {
    const acked = { deployments: [] as string[], versions: [] as string[] };
    let scaleAcked = 1;
    const scaleTried: number[] = []; // a scale in flight at the kill may or may not have committed
    let seq = 0;
    let writing = true;
    const writer = (async () => {
      while (writing) {
        const i = seq++;
        try {
          if (i % 3 === 0) {
            const name = `w-${i}`;
            const r = await stack.call('/api/v1/deployments', {
              json: {
                name,
                environment: 'staging',
                model: { name: 'risk', version: '1.0.0' },
                configuration: { replicas: 0 },
              },
            });
            if (r.status === 201) acked.deployments.push(name);
          } else if (i % 3 === 1) {
            const replicas = 1 + (i % 2);
            scaleTried.push(replicas);
            const r = await stack.call('/api/v1/environments/staging/deployments/risk/scale', { json: { replicas } });
            if (r.status === 200) {
              scaleAcked = replicas;
              scaleTried.length = 0;
            }
          } else {
            const version = `2.0.${i}`;
            if ((await stack.push(version)) === 201) acked.versions.push(version);
          }
        } catch {
          await new Promise((r) => setTimeout(r, 20)); // down: try the next write
        }
      }
    })();
    const recoveries: number[] = [];
    for (let k = 0; k < KILLS; k += 1) {
      const before = acked.deployments.length + acked.versions.length;
      await eventually(
        async () => (acked.deployments.length + acked.versions.length >= before + 3 ? true : undefined),
        {
          timeoutMs: 30_000,
          intervalMs: 20,
          message: 'writes to be acknowledged before the next kill',
        },
      );
      await stack.kill();
      recoveries.push(await restartTimed());
    }
    writing = false;
    await writer;

    const lost: string[] = [];
    for (const name of acked.deployments)
      if ((await stack.call(`/api/v1/environments/staging/deployments/${name}`)).status !== 200) lost.push(name);
    for (const version of acked.versions)
      if ((await stack.call(`/api/v1/models/risk/versions/${version}`)).status !== 200) lost.push(`risk@${version}`);
    const risk = (await stack.call('/api/v1/environments/staging/deployments/risk')).body as {
      configuration: { replicas: number };
    };
    const integrity = new Database(join(stack.home, 'wharf.db'), { readonly: true });
    const check = integrity.pragma('integrity_check', { simple: true });
    integrity.close();
    const writes = acked.deployments.length + acked.versions.length;
    figure(`${KILLS} kills: acknowledged writes lost`, lost.length, `of ${writes}`, '0');
    figure(`${KILLS} kills: slowest restart until the API answered`, Math.max(...recoveries) / 1000, 's', '< 10 s');
    assert.deepEqual(lost, []);
    assert.equal(check, 'ok');
    assert.ok(
      [scaleAcked, ...scaleTried].includes(risk.configuration.replicas),
      `risk has ${risk.configuration.replicas} replicas`,
    );
    // Desired: risk's replicas and the one of `fresh` (the first test); the w-* have none.
    const desired = risk.configuration.replicas + 1;
    await eventually(async () => (replicas().length === desired ? true : undefined), {
      timeoutMs: 60_000,
      intervalMs: 100,
      message: `exactly ${desired} replica processes`,
    });
    await consistently(
      1_500,
      () => {
        assert.equal(replicas().length, desired, 'still exactly the desired replica processes');
        return true;
      },
      { intervalMs: 100 },
    );
    figure(`${KILLS} kills: replica processes beyond the desired`, replicas().length - desired, 'processes', '0');
  },
);
