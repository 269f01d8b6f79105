// The local runtime's health and resource features with real processes: startup probes (fast
// readiness, timeout → restart), dependencies (HTTP and TCP, failing → unready + condition →
// recovered), the memory watchdog (OOMKilled), usage sampling of a process tree, why a process
// ended (lastTermination), and change notifications. After every test, /proc must show no
// replica process of this file left (they carry WHARF_WORKLOAD).
import { afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { join } from 'node:path';
import { writeDemoModels } from '../src/demo/write-demo-models.js';
import { cpuCgroupSupport } from '../src/runtime/local/cpu-cgroup.js';
import { freePort } from '../src/runtime/local/free-port.js';
import type { ReplicaStatus, WorkloadKey, WorkloadStatus } from '../src/runtime/runtime.js';
import {
  appWorkload,
  FAST_PROBE,
  HTTP_APP,
  localRuntimeHarness,
  modelWorkload,
  processGone,
  statusWhere,
} from './support/runtime.js';
import { eventually } from './support/eventually.js';

const ENV = `rth${process.pid}`;
const local = localRuntimeHarness(ENV, {
  backoff: { initialMs: 200, maxMs: 2_000 },
  stopGraceMs: 5_000,
  exitPollMs: 20,
  usageSampleMs: 50,
});
const runtime = local.runtime;
const servers: (http.Server | net.Server)[] = [];

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

const key = (deployment: string): WorkloadKey => ({ environment: ENV, deployment, revision: 1 });

const condition = (s: WorkloadStatus, type: string) => s.conditions.find((c) => c.type === type);

/** An HTTP server on a free port whose answer to every request is `status()`; counts requests. */
async function statusServer(status: () => number): Promise<{ url: string; hits: () => number }> {
  let hits = 0;
  const server = http.createServer((req, res) => {
    hits += 1;
    res.writeHead(status(), { connection: 'close' }).end();
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}/health`, hits: () => hits };
}

/**
 * Listens on $PORT after 300 ms, counts requests per path, answers `/hits` with the counts, and
 * `/startup` with $STARTUP_STATUS (default 200); everything else 200.
 */
const COUNTING_APP = `
const http = require('node:http');
const hits = {};
const server = http.createServer((req, res) => {
  if (req.url === '/hits') return res.writeHead(200, { connection: 'close' }).end(JSON.stringify(hits));
  hits[req.url] = (hits[req.url] || 0) + 1;
  const status = req.url === '/startup' ? Number(process.env.STARTUP_STATUS || 200) : 200;
  res.writeHead(status, { connection: 'close' }).end();
});
setTimeout(() => server.listen(Number(process.env.PORT), '127.0.0.1'), 300);
process.on('SIGTERM', () => server.close(() => process.exit(0)));
`;

/** Probes so slow that, within a test, only their first run could ever happen. */
const SLOW_PROBE = { ...FAST_PROBE, intervalMs: 600_000 };

describe('local runtime: startup probe', () => {
  test('a replica is ready on its first startup pass; readiness and liveness begin only one interval later', async () => {
    const r = runtime();
    const k = key('starts-fast');
    await r.apply(
      appWorkload(k, 1, COUNTING_APP, {
        startup: { path: '/startup', intervalMs: 50, probeTimeoutMs: 1_000, timeoutMs: 30_000 },
        readiness: { ...SLOW_PROBE, path: '/ready' },
        liveness: { ...SLOW_PROBE, path: '/live' },
      }),
    );
    const phases = new Set<string>();
    const ready = await eventually(
      statusWhere(r, k, (s) => {
        phases.add(s.replicas[0]?.phase ?? '');
        return s.readyReplicas === 1;
      }),
      { timeoutMs: 15_000, message: 'ready through the startup probe' },
    );
    assert.ok(phases.has('starting'), 'starting first');
    const hits = (await (await fetch(`${ready.replicas[0]!.endpoint}/hits`)).json()) as Record<string, number>;
    assert.ok((hits['/startup'] ?? 0) >= 1, `the startup probe ran: ${JSON.stringify(hits)}`);
    // Without the startup probe, the first readiness probe (at process start, before the app
    // listens) would fail and the next would come after 10 minutes.
    assert.equal(hits['/ready'], undefined, 'readiness has not run: the replica became ready from the startup probe');
    assert.equal(hits['/live'], undefined, 'liveness waits too');
    assert.equal(ready.replicas[0]!.restarts, 0);
  });

  test('no pass within startup.timeoutMs: killed, StartupTimeout recorded, restarted with back-off', async () => {
    const r = runtime({ backoff: { initialMs: 300, maxMs: 2_000 } });
    const k = key('never-starts');
    await r.apply(
      appWorkload(k, 1, COUNTING_APP, {
        env: { STARTUP_STATUS: '503' },
        startup: { path: '/startup', intervalMs: 50, probeTimeoutMs: 500, timeoutMs: 600 },
      }),
    );
    await eventually(
      statusWhere(r, k, (s) => r.pids(k).length === 1 && s.replicas[0]?.endpoint !== undefined),
      { timeoutMs: 15_000, message: 'the first process' },
    );
    const [firstPid] = r.pids(k);
    const messages = new Set<string>();
    const phases = new Set<string>();
    const status = await eventually(
      statusWhere(r, k, (s) => {
        const replica = s.replicas[0]!;
        phases.add(replica.phase);
        if (replica.message) messages.add(replica.message);
        return replica.restarts >= 1 && replica.lastTermination !== undefined;
      }),
      { timeoutMs: 15_000, message: 'a restart after the startup timeout' },
    );
    const replica = status.replicas[0]!;
    assert.equal(replica.lastTermination!.reason, 'StartupTimeout');
    assert.equal(replica.lastTermination!.message, 'startup probe /startup did not pass within 600 ms');
    assert.ok(!Number.isNaN(Date.parse(replica.lastTermination!.time)));
    assert.ok(!phases.has('ready'), 'never ready');
    assert.ok(processGone(firstPid!), 'the first process was stopped');
    assert.ok(
      [...messages].some((m) =>
        /^startup probe \/startup did not pass within 600 ms; (exited with code 0|was killed by SIGTERM); restarting in 300 ms$/.test(
          m,
        ),
      ),
      [...messages].join(' | '),
    );
  });
});

describe('local runtime: dependencies', () => {
  test('a failing HTTP dependency holds every replica unready with a condition naming it; recovery brings them back', async () => {
    let answer = 503;
    const dependency = await statusServer(() => answer);
    const r = runtime();
    const k = key('needs-features');
    await r.apply(
      appWorkload(k, 2, HTTP_APP, {
        dependencies: [
          { name: 'feature-store', http: { url: dependency.url }, intervalMs: 50, timeoutMs: 1_000, retries: 3 },
        ],
      }),
    );
    const failing = await eventually(
      statusWhere(
        r,
        k,
        (s) => condition(s, 'DependenciesReady')?.status === 'False' && s.replicas.every((x) => x.endpoint),
      ),
      { timeoutMs: 15_000, message: 'DependenciesReady False' },
    );
    const dep = condition(failing, 'DependenciesReady')!;
    assert.equal(dep.reason, 'DependencyFailed');
    assert.equal(dep.message, `feature-store (${dependency.url}): answered 503 after 3 attempts`);
    // The replicas' own probes pass (HTTP_APP answers 200) but they stay out of rotation.
    const held = await eventually(
      statusWhere(r, k, (s) => s.replicas.every((x) => x.phase === 'unready')),
      { timeoutMs: 15_000, message: 'both replicas unready' },
    );
    assert.equal(held.readyReplicas, 0);
    for (const replica of held.replicas)
      assert.match(
        replica.message ?? '',
        /dependency feature-store \(http:\/\/127\.0\.0\.1:\d+\/health\): answered 503/,
      );

    answer = 200;
    const recovered = await eventually(
      statusWhere(r, k, (s) => s.readyReplicas === 2),
      { timeoutMs: 15_000, message: 'both ready after the dependency recovered' },
    );
    assert.equal(condition(recovered, 'DependenciesReady')!.status, 'True');
    assert.equal(condition(recovered, 'DependenciesReady')!.reason, 'DependenciesPassed');
    assert.ok(recovered.replicas.every((x) => x.phase === 'ready' && x.message === undefined));

    // One monitor per workload, stopped with it: once a twin workload's monitor (same interval, a
    // dependency of its own) has checked 6 times, the removed one had as long to check again.
    await r.remove(k);
    const afterRemove = dependency.hits();
    const twinDependency = await statusServer(() => 200);
    await r.apply(
      appWorkload(key('needs-features-twin'), 1, HTTP_APP, {
        dependencies: [
          { name: 'feature-store', http: { url: twinDependency.url }, intervalMs: 50, timeoutMs: 1_000, retries: 3 },
        ],
      }),
    );
    await eventually(() => twinDependency.hits() >= 6, {
      timeoutMs: 15_000,
      message: 'the twin monitor to check 6 times',
    });
    assert.ok(dependency.hits() <= afterRemove + 1, `no checks after remove (${afterRemove} → ${dependency.hits()})`);
  });

  test('a TCP dependency: connection refused → unready; a listener on the port → ready', async () => {
    const port = await freePort('127.0.0.1');
    const r = runtime();
    const k = key('needs-db');
    await r.apply(
      appWorkload(k, 1, HTTP_APP, {
        dependencies: [{ name: 'db', tcp: { host: '127.0.0.1', port }, intervalMs: 50, timeoutMs: 1_000, retries: 2 }],
      }),
    );
    const failing = await eventually(
      statusWhere(r, k, (s) => condition(s, 'DependenciesReady')?.status === 'False'),
      { timeoutMs: 15_000, message: 'DependenciesReady False' },
    );
    assert.equal(
      condition(failing, 'DependenciesReady')!.message,
      `db (tcp://127.0.0.1:${port}): connection refused after 2 attempts`,
    );
    assert.equal(failing.readyReplicas, 0);

    const listener = net.createServer((socket) => socket.destroy());
    servers.push(listener);
    await new Promise<void>((resolve) => listener.listen(port, '127.0.0.1', resolve));
    const recovered = await eventually(
      statusWhere(r, k, (s) => s.readyReplicas === 1),
      { timeoutMs: 15_000, message: 'ready once the port accepts connections' },
    );
    assert.equal(condition(recovered, 'DependenciesReady')!.message, 'every dependency passes: db');
  });
});

describe('local runtime: resource limits and usage', () => {
  test('a replica above its memory limit is SIGKILLed, reported OOMKilled, and restarted', async () => {
    const r = runtime({ backoff: { initialMs: 500, maxMs: 2_000 } });
    const k = key('leaky');
    // Serves, then keeps 16 MiB more every 50 ms (filled, so the pages are resident).
    const leaky = `${HTTP_APP}
      const kept = []; setInterval(() => kept.push(Buffer.alloc(16 * 1024 * 1024, 1)), 50);`;
    await r.apply(appWorkload(k, 1, leaky, { resources: { memory: '100Mi', limits: { memory: '150Mi' } } }));
    const enforced = condition((await r.observe(k))!, 'ResourcesEnforced')!;
    assert.equal(enforced.status, 'True');
    assert.equal(enforced.reason, 'LimitsEnforced');
    assert.equal(enforced.message, 'memory limit 150Mi enforced by RSS watchdog; requests recorded (memory=100Mi)');
    await eventually(
      statusWhere(r, k, () => r.pids(k).length === 1),
      { timeoutMs: 15_000, message: 'the first process' },
    );
    const [firstPid] = r.pids(k);
    const messages = new Set<string>();
    const status = await eventually(
      statusWhere(r, k, (s) => {
        if (s.replicas[0]?.message) messages.add(s.replicas[0].message);
        return s.replicas[0]?.lastTermination?.reason === 'OOMKilled';
      }),
      { timeoutMs: 15_000, message: 'an OOM kill' },
    );
    const ended = status.replicas[0]!.lastTermination!;
    const used = /^memory (\d+)Mi exceeded the limit 150Mi$/.exec(ended.message);
    assert.ok(used, ended.message);
    assert.ok(Number(used[1]) > 150, `${used[1]}Mi is above the limit`);
    assert.ok(processGone(firstPid!), 'the process was killed');
    await eventually(
      statusWhere(r, k, (s) => {
        if (s.replicas[0]?.message) messages.add(s.replicas[0].message);
        return s.replicas[0]!.restarts >= 1;
      }),
      { timeoutMs: 15_000, message: 'a restart' },
    );
    assert.ok(
      [...messages].some((m) => /exceeded the limit 150Mi; was killed by SIGKILL; restarting in 500 ms/.test(m)),
      [...messages].join(' | '),
    );
  });

  test('usage: memory of the replica and CPU of a busy child process (the whole process tree)', async () => {
    const r = runtime({ usageSampleMs: 100 });
    const k = key('busy');
    const busy = `${HTTP_APP}
      require('node:child_process').spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' });`;
    await r.apply(appWorkload(k, 1, busy));
    const ready = await eventually(
      statusWhere(r, k, (s) => s.readyReplicas === 1),
      { timeoutMs: 15_000, message: 'ready' },
    );
    // The busy loop has a core to itself only when the machine is idle: any clearly busy share passes.
    const samples = await eventually(
      async () => {
        const s = await r.usage(k);
        assert.ok(s[0] && s[0].cpuCores > 0.3, `the busy child's CPU counts: ${JSON.stringify(s)}`);
        return s;
      },
      { timeoutMs: 15_000, intervalMs: 50 },
    );
    assert.equal(samples.length, 1, JSON.stringify(samples));
    const [u] = samples;
    assert.equal(u!.replica, ready.replicas[0]!.id);
    assert.ok(u!.cpuCores > 0.3, `the busy child's CPU counts: ${u!.cpuCores} cores`);
    assert.ok(u!.memoryBytes > 20 * 2 ** 20, `two node processes use more than 20 MiB: ${u!.memoryBytes}`);
    assert.deepEqual(await r.usage(key('never-applied')), []);
  });

  test('cpu limit: a thread cap for the replica, gpu carried; the condition says what is and is not enforced', async () => {
    const r = runtime();
    const k = key('capped');
    const envApp = `${HTTP_APP.replace('res.writeHead(status', "if (req.url === '/env') return res.end(JSON.stringify({ uv: process.env.UV_THREADPOOL_SIZE, gpus: process.env.WHARF_GPUS })); res.writeHead(status")}`;
    await r.apply(appWorkload(k, 1, envApp, { resources: { cpu: '500m', gpu: 1, limits: { cpu: '1500m' } } }));
    const ready = await eventually(
      statusWhere(r, k, (s) => s.readyReplicas === 1),
      { timeoutMs: 15_000, message: 'ready' },
    );
    assert.deepEqual(await (await fetch(`${ready.replicas[0]!.endpoint}/env`)).json(), { uv: '2', gpus: '1' });
    const enforced = condition(ready, 'ResourcesEnforced')!;
    assert.equal(enforced.status, 'False');
    assert.equal(enforced.reason, 'PartiallyEnforced');
    const cpu = cpuCgroupSupport().ok
      ? 'cpu limit 1500m enforced by cgroup cpu.max and honoured by UV_THREADPOOL_SIZE=2'
      : 'cpu limit 1500m honoured by UV_THREADPOOL_SIZE=2 (no writable cgroup: not a hard quota)';
    assert.equal(enforced.message, `${cpu}; requests recorded (cpu=500m); gpu 1 carried (no GPU scheduling)`);
  });

  test('a model server takes the thread cap (serve-model --threads) and serves under memory and cpu limits', async () => {
    const models = await writeDemoModels(join(local.root, 'models'));
    const r = runtime();
    const k = key('model-capped');
    await r.apply({
      ...modelWorkload(k, 1, models.readmission),
      resources: { cpu: '250m', memory: '256Mi', limits: { cpu: '1', memory: '1Gi' } },
    });
    const ready = await eventually(
      statusWhere(r, k, (s) => s.readyReplicas === 1),
      { timeoutMs: 30_000, message: 'the model server ready' },
    );
    const [pid] = r.pids(k);
    const { readFileSync } = await import('node:fs');
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    assert.deepEqual(argv.slice(argv.indexOf('--threads'), argv.indexOf('--threads') + 2), ['--threads', '1']);
    assert.match(
      condition(ready, 'ResourcesEnforced')!.message,
      /^memory limit 1Gi enforced by RSS watchdog; cpu limit 1 (honoured by a thread cap of 1 \(no writable cgroup: not a hard quota\)|enforced by cgroup)/,
    );
    const res = await fetch(`${ready.replicas[0]!.endpoint}/v2/health/ready`);
    assert.equal(res.status, 200);
  });
});

describe('local runtime: why a process ended, and change notifications', () => {
  test('lastTermination: Completed for exit 0, Error for a non-zero exit, LivenessFailed for a liveness kill', async () => {
    const r = runtime({ backoff: { initialMs: 300, maxMs: 2_000 } });
    const reasons = async (
      deployment: string,
      script: string,
      extra = {},
    ): Promise<NonNullable<ReplicaStatus['lastTermination']>> => {
      const k = key(deployment);
      await r.apply(appWorkload(k, 1, script, extra));
      const s = await eventually(
        statusWhere(r, k, (x) => x.replicas[0]?.lastTermination !== undefined),
        { timeoutMs: 15_000, message: `${deployment}: a termination` },
      );
      return s.replicas[0]!.lastTermination!;
    };
    assert.deepEqual((({ reason, message }) => ({ reason, message }))(await reasons('completes', 'process.exit(0)')), {
      reason: 'Completed',
      message: 'exited with code 0',
    });
    const failed = await reasons('fails', 'console.error("no config"); process.exit(3)');
    assert.equal(failed.reason, 'Error');
    assert.equal(failed.message, 'exited with code 3; last stderr line: "no config"');
    const unhealthy = await reasons('unhealthy', HTTP_APP, {
      env: { LIVE_STATUS: '500' },
      liveness: { path: '/live', intervalMs: 50, timeoutMs: 500, retries: 2, startupGraceMs: 0 },
    });
    assert.deepEqual(
      { reason: unhealthy.reason, message: unhealthy.message },
      { reason: 'LivenessFailed', message: 'liveness probe /live failed 2 times in a row' },
    );
  });

  test('onChange: called with the key as replicas start, become ready and go; not after unsubscribe', async () => {
    const r = runtime();
    const k = key('watched');
    const heard: WorkloadKey[] = [];
    const off = r.onChange((changed) => heard.push(changed));
    await r.apply(appWorkload(k, 2, HTTP_APP));
    await eventually(
      statusWhere(r, k, (s) => s.readyReplicas === 2),
      { timeoutMs: 15_000, message: 'two ready' },
    );
    await eventually(() => heard.length >= 1, { timeoutMs: 5_000, message: 'told at least once' });
    assert.ok(heard.length >= 1, 'told at least once');
    assert.ok(
      heard.every((h) => h.environment === ENV && h.deployment === 'watched' && h.revision === 1),
      JSON.stringify(heard),
    );
    const beforeScale = heard.length;
    await r.apply(appWorkload(k, 1, HTTP_APP));
    await eventually(
      statusWhere(r, k, (s) => s.replicas.length === 1),
      { timeoutMs: 15_000, message: 'scaled down to one' },
    );
    await eventually(() => heard.length > beforeScale, {
      timeoutMs: 5_000,
      message: 'told about the replica that went',
    });
    assert.ok(heard.length > beforeScale, 'told about the replica that went');
    off();
    const count = heard.length;
    // A listener still subscribed hears the replicas go: the runtime did tell, just not the one unsubscribed.
    const still: WorkloadKey[] = [];
    r.onChange((changed) => still.push(changed));
    await r.remove(k);
    await eventually(() => still.length > 0, {
      timeoutMs: 5_000,
      message: 'a subscribed listener to hear the removal',
    });
    assert.equal(heard.length, count, 'nothing after unsubscribing');
  });
});
