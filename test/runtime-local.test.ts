// The local runtime: the shared Runtime contract with model replicas (`wharf serve-model`), then
// what only the local engine does — restarts with back-off, crash loops, artifact verification,
// log rotation, adoption after a control-plane restart — with real processes throughout. After
// every test, /proc must show no replica process of this file left (they carry WHARF_WORKLOAD).
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeDemoModels } from '../src/demo/write-demo-models.js';
import { UnavailableError } from '../src/core/errors.js';
import { LocalRuntime } from '../src/runtime/local/local-runtime.js';
import type { WorkloadKey, WorkloadStatus } from '../src/runtime/runtime.js';
import { runRuntimeContract } from './support/runtime-contract.js';
import {
  appWorkload,
  CHATTY_APP,
  HTTP_APP,
  localRuntimeHarness,
  modelWorkload,
  processGone,
  replicaProcesses,
  statusWhere,
} from './support/runtime.js';
import { eventually } from './support/eventually.js';

/** Every key of this file uses this environment, so /proc can be searched for our replicas only. */
const ENV = `rt${process.pid}`;
/** Runtimes with fast settings, closed (replicas stopped) after each test. */
const local = localRuntimeHarness(ENV, {
  backoff: { initialMs: 100, maxMs: 2_000 },
  stopGraceMs: 5_000,
  exitPollMs: 20,
  logPollMs: 20,
});
const runtime = local.runtime;
let models: { readmission: string; mlp: string };

before(async () => {
  models = await writeDemoModels(join(local.root, 'models'));
});

runRuntimeContract(
  'local',
  () => new LocalRuntime({ stateDir: join(local.root, 'contract'), stopGraceMs: 5_000, exitPollMs: 20, logPollMs: 20 }),
  {
    environment: ENV,
    workload: (key, replicas) => modelWorkload(key, replicas, models.readmission),
    endpointPath: '/v2/health/ready',
    processes: { ids: (runtime, key) => runtime.pids(key).map(String), exists: (id) => !processGone(Number(id)) },
  },
);

const key = (deployment: string, revision = 1): WorkloadKey => ({ environment: ENV, deployment, revision });

const readyCount =
  (n: number) =>
  (s: WorkloadStatus): boolean =>
    s.readyReplicas === n && s.replicas.length === n;

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

describe('local runtime: supervision', () => {
  test('a replica killed with SIGKILL is restarted: same replica, new pid, restarts + 1, ready again', async () => {
    const r = runtime({ backoff: { initialMs: 300, maxMs: 2_000 } });
    const k = key('killed');
    await r.apply(appWorkload(k, 1, HTTP_APP));
    const before = await eventually(statusWhere(r, k, readyCount(1)), {
      timeoutMs: 15_000,
      message: 'one ready replica',
    });
    const [pid] = r.pids(k);
    assert.ok(pid);
    process.kill(pid, 'SIGKILL');
    const messages = new Set<string>();
    const after = await eventually(
      statusWhere(r, k, (s) => {
        if (s.replicas[0]?.message) messages.add(s.replicas[0].message);
        return readyCount(1)(s) && s.replicas[0]!.restarts === 1;
      }),
      { timeoutMs: 15_000, message: 'the replica to be restarted and ready' },
    );
    const [newPid] = r.pids(k);
    assert.ok(newPid !== undefined && newPid !== pid, `a new process (${pid} → ${newPid})`);
    assert.ok(processGone(pid), 'the killed process is gone');
    assert.equal(after.replicas[0]!.id, before.replicas[0]!.id, 'same replica id');
    assert.equal(after.replicas[0]!.endpoint, before.replicas[0]!.endpoint, 'same endpoint: the port was free again');
    assert.ok(
      [...messages].some((m) => /killed by SIGKILL; restarting in 300 ms/.test(m)),
      `crash message seen: ${[...messages].join(' | ')}`,
    );
  });

  test('a command that exits at once: back-off doubles, CrashLoop names the replica, exit code and last stderr line', async () => {
    // Delays of 200 ms and more: each 'crashed' message stays long enough for polling to see it.
    const r = runtime({ backoff: { initialMs: 200, maxMs: 10_000 }, crashLoopThreshold: 3 });
    const k = key('crasher');
    await r.apply(appWorkload(k, 1, 'console.error("boom: config file missing"); process.exit(3)'));
    const delays: number[] = [];
    const starts = new Set<string>();
    const status = await eventually(
      statusWhere(r, k, (s) => {
        const replica = s.replicas[0];
        if (replica?.startedAt) starts.add(replica.startedAt);
        const delay = /restarting in (\d+) ms/.exec(replica?.message ?? '')?.[1];
        if (delay !== undefined && delays.at(-1) !== Number(delay)) delays.push(Number(delay));
        return delays.length >= 4;
      }),
      { timeoutMs: 15_000, message: 'four restarts' },
    );
    assert.deepEqual(delays, [200, 400, 800, 1_600], 'exponential back-off');
    const startTimes = [...starts].map((t) => Date.parse(t)).sort((a, b) => a - b);
    const gaps = startTimes.slice(1).map((t, i) => t - startTimes[i]!);
    // Each gap is the process's short life plus the back-off; the life varies with machine load,
    // so the check is that the runtime really waited at least the announced delay each time.
    assert.ok(gaps.length >= 3, `saw ${startTimes.length} starts`);
    gaps
      .slice(0, 3)
      .forEach((gap, i) =>
        assert.ok(gap >= delays[i]! - 5, `gap ${i + 1} between starts: ${gap} ms ≥ ${delays[i]} ms`),
      );
    const replica = status.replicas[0]!;
    assert.equal(replica.phase, 'crashed');
    assert.equal(status.readyReplicas, 0);
    const loop = status.conditions.find((c) => c.type === 'CrashLoop');
    assert.ok(loop, 'CrashLoop condition');
    assert.equal(loop.status, 'True');
    assert.equal(loop.reason, 'CrashLoopBackOff');
    assert.match(loop.message, new RegExp(`replica ${replica.id}\\b`));
    assert.match(loop.message, /exited with code 3/);
    assert.match(loop.message, /boom: config file missing/);
  });

  test('the CrashLoop condition clears once the replica has stayed ready for the window', async () => {
    const r = runtime({ backoff: { initialMs: 50, maxMs: 50 }, crashLoopThreshold: 2, crashLoopWindowMs: 1_500 });
    const k = key('recovers');
    const marker = join(local.root, `crashes-${process.pid}`);
    // Exits twice (counted in a file), then serves.
    const script = `const fs = require('node:fs'); const f = ${JSON.stringify(marker)};
      const n = fs.existsSync(f) ? Number(fs.readFileSync(f, 'utf8')) : 0;
      if (n < 2) { fs.writeFileSync(f, String(n + 1)); console.error('crash ' + n); process.exit(4); }
      ${HTTP_APP}`;
    await r.apply(appWorkload(k, 1, script));
    const looping = await eventually(
      statusWhere(r, k, (s) => s.conditions.some((c) => c.type === 'CrashLoop' && c.status === 'True')),
      { timeoutMs: 15_000, message: 'CrashLoop True' },
    );
    assert.match(looping.conditions.find((c) => c.type === 'CrashLoop')!.message, /exited with code 4/);
    const cleared = await eventually(
      statusWhere(r, k, (s) => s.conditions.some((c) => c.type === 'CrashLoop' && c.status === 'False')),
      { timeoutMs: 10_000, message: 'CrashLoop False' },
    );
    assert.equal(cleared.readyReplicas, 1);
    assert.equal(cleared.replicas[0]!.restarts, 2);
  });

  test('a command that cannot be executed is reported on the replica, not thrown', async () => {
    const r = runtime();
    const k = key('missing-binary');
    await r.apply(appWorkload(k, 1, HTTP_APP, { command: { argv: ['/nonexistent/wharf-test-binary'] } }));
    const status = await eventually(
      statusWhere(r, k, (s) => /could not be started: .*ENOENT/.test(s.replicas[0]?.message ?? '')),
      { timeoutMs: 15_000, message: 'the spawn failure' },
    );
    assert.equal(status.replicas[0]!.phase, 'crashed');
    assert.deepEqual(r.pids(k), []);
    await assert.rejects(collect(r.logs(key('never-applied'))), /no workload/);
    await assert.rejects(collect(r.logs(k, { replica: 'nope' })), /has no replica nope/);
  });

  test('failing liveness probes get the replica restarted', async () => {
    const r = runtime({ backoff: { initialMs: 500, maxMs: 2_000 } });
    const k = key('unhealthy');
    const probe = { path: '/live', intervalMs: 50, timeoutMs: 500, retries: 2, startupGraceMs: 300 };
    await r.apply(appWorkload(k, 1, HTTP_APP, { env: { LIVE_STATUS: '500' }, liveness: probe }));
    await eventually(
      statusWhere(r, k, (s) => s.replicas[0]?.restarts === 0 && s.replicas[0].endpoint !== undefined),
      { timeoutMs: 15_000, message: 'the first process' },
    );
    const [firstPid] = r.pids(k);
    const messages = new Set<string>();
    await eventually(
      statusWhere(r, k, (s) => {
        if (s.replicas[0]?.message) messages.add(s.replicas[0].message);
        return s.replicas[0]!.restarts >= 1 && messages.size > 0;
      }),
      { timeoutMs: 15_000, message: 'a restart after liveness failures' },
    );
    assert.ok(processGone(firstPid!), `the unhealthy process ${firstPid} was stopped`);
    // SIGTERM exits the app with 0 once it runs its handler; a very slow start may still be in node's bootstrap.
    const expected =
      /liveness probe \/live failed 2 times in a row; (exited with code 0|was killed by SIGTERM); restarting in 500 ms/;
    assert.ok(
      [...messages].some((m) => expected.test(m)),
      [...messages].join(' | '),
    );
  });

  test('scale down stops the newest replicas first', async () => {
    const r = runtime();
    const k = key('scaled');
    await r.apply(appWorkload(k, 3, HTTP_APP));
    const three = await eventually(statusWhere(r, k, readyCount(3)), { timeoutMs: 15_000, message: 'three ready' });
    await r.apply(appWorkload(k, 1, HTTP_APP));
    const one = await eventually(statusWhere(r, k, readyCount(1)), { timeoutMs: 15_000, message: 'one left' });
    assert.equal(one.replicas[0]!.id, three.replicas[0]!.id, 'the oldest replica stays');
    assert.equal(r.pids(k).length, 1);
  });

  test('close() without keepReplicas stops every replica', async () => {
    const r = runtime();
    await r.apply(appWorkload(key('closing'), 2, HTTP_APP));
    await eventually(statusWhere(r, key('closing'), readyCount(2)), { timeoutMs: 15_000, message: 'two ready' });
    const pids = r.pids(key('closing'));
    await r.close();
    assert.ok(pids.every(processGone), 'all stopped');
    await assert.rejects(r.observe(key('closing')), UnavailableError);
  });

  test('bad workloads are refused with the field named; a running key only takes new replicas and labels', async () => {
    const r = runtime();
    const k = key('validated');
    await assert.rejects(
      r.apply({ ...appWorkload(k, 1, HTTP_APP), replicas: -1 }),
      /replicas: must be a non-negative integer/,
    );
    await assert.rejects(r.apply({ ...appWorkload(k, 1, HTTP_APP), command: { argv: [] } }), /command\.argv/);
    await r.apply(appWorkload(k, 0, HTTP_APP));
    await assert.rejects(r.apply(appWorkload(k, 0, HTTP_APP, { env: { CHANGED: '1' } })), /new revision/);
    await r.apply(appWorkload(k, 0, HTTP_APP, { labels: { team: 'risk' } }));
    const withResources = key('resources');
    await r.apply(appWorkload(withResources, 0, HTTP_APP, { resources: { cpu: '500m', memory: '1Gi', gpu: 0 } }));
    const condition = (await r.observe(withResources))!.conditions.find((c) => c.type === 'ResourcesEnforced');
    assert.equal(condition?.status, 'False', 'requests alone are recorded, not enforced');
    assert.equal(condition?.reason, 'NotEnforced');
    assert.equal(condition?.message, 'requests recorded (cpu=500m, memory=1Gi)');
    await assert.rejects(
      r.apply(
        appWorkload(key('limit-below'), 0, HTTP_APP, { resources: { memory: '1Gi', limits: { memory: '512Mi' } } }),
      ),
      /resources\.limits\.memory: must not be below the request 1Gi, got 512Mi/,
    );
    await assert.rejects(
      r.apply(
        appWorkload(key('bad-dep'), 0, HTTP_APP, {
          dependencies: [{ name: 'db', intervalMs: 100, timeoutMs: 100, retries: 1 }],
        }),
      ),
      /dependencies\[0\]: exactly one of http and tcp must be set/,
    );
    await assert.rejects(
      r.apply(
        appWorkload(key('bad-startup'), 0, HTTP_APP, {
          startup: { path: '', intervalMs: 50, probeTimeoutMs: 100, timeoutMs: 0 },
        }),
      ),
      /startup\.timeoutMs: must be a positive integer, got 0/,
    );
  });
});

describe('local runtime: model artifacts', () => {
  test('a digest mismatch starts no process and says why', async () => {
    const r = runtime();
    const k = key('tampered');
    const workload = modelWorkload(k, 2, models.readmission, `sha256:${'0'.repeat(64)}`);
    await r.apply(workload);
    const status = await eventually(
      statusWhere(r, k, (s) => s.replicas.length === 2 && s.replicas.every((x) => x.phase === 'crashed')),
      { timeoutMs: 15_000, message: 'both refused' },
    );
    for (const replica of status.replicas) {
      assert.match(
        replica.message ?? '',
        /not started: model artifact .*readmission\.onnx has digest sha256:[0-9a-f]{64}, expected sha256:0{64}/,
      );
      assert.equal(replica.endpoint, undefined);
      assert.equal(replica.restarts, 0, 'not retried in a loop');
    }
    const verified = status.conditions.find((c) => c.type === 'ArtifactVerified');
    assert.equal(verified?.status, 'False');
    assert.equal(verified?.reason, 'DigestMismatch');
    assert.ok(!status.conditions.some((c) => c.type === 'CrashLoop' && c.status === 'True'));
    assert.deepEqual(r.pids(k), []);
    assert.deepEqual(replicaProcesses(`${ENV}/tampered@`), [], 'no process in /proc');
    assert.deepEqual(await collect(r.logs(k)), [], 'nothing ever wrote a log line');
    await r.apply(workload); // re-checks, and still refuses
    assert.deepEqual(r.pids(k), []);
  });
});

describe('local runtime: logs', () => {
  test('rotation caps the files; logs() and follow read across rotations in order', async () => {
    const stateDir = join(local.root, 'chatty');
    const r = runtime({ stateDir, logMaxBytes: 4_096, logFiles: 3, logCheckIntervalMs: 25 });
    const k = key('chatty');
    await r.apply(appWorkload(k, 1, CHATTY_APP));
    await eventually(statusWhere(r, k, readyCount(1)), { timeoutMs: 15_000, message: 'ready' });
    const numberOf = (text: string): number | undefined => {
      const m = /^line (\d{8}) x+$/.exec(text);
      return m ? Number(m[1]) : undefined;
    };
    const followed: number[] = [];
    const controller = new AbortController();
    const following = (async () => {
      for await (const line of r.logs(k, { follow: true, signal: controller.signal })) {
        const n = line.stream === 'stdout' ? numberOf(line.text) : undefined;
        if (n !== undefined) followed.push(n);
      }
    })();
    const written = 2_000; // ≈ 200 KB, fifty times the cap
    await eventually(
      statusWhere(r, k, () => (followed.at(-1) ?? 0) >= written),
      { timeoutMs: 15_000, message: `${written} lines followed` },
    );
    controller.abort();
    await following;

    const logDir = join(stateDir, 'workloads', `${ENV}@chatty@1`, 'logs');
    // The app keeps logging and rotation keeps shifting files, so a file can vanish between the
    // listing and the stat: take the snapshot again until it is consistent.
    const snapshot = async (): Promise<{ files: string[]; sizes: number[] }> => {
      for (let attempt = 0; ; attempt++) {
        const files = (await readdir(logDir)).filter((f) => f.includes('.stdout.log')).sort();
        try {
          return { files, sizes: await Promise.all(files.map(async (f) => (await stat(join(logDir, f))).size)) };
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || attempt >= 20) throw err;
        }
      }
    };
    const { files, sizes } = await snapshot();
    const id = (await r.observe(k))!.replicas[0]!.id;
    assert.deepEqual(
      files,
      [`${id}.stdout.log`, `${id}.stdout.log.1`, `${id}.stdout.log.2`],
      'current + 2 rotated files',
    );
    // A file outgrows the cap by what is written between two size checks (25 ms, more on a busy machine).
    for (const size of sizes) assert.ok(size <= 24 * 1024, `a file of ${size} bytes stays near the 4 KiB cap`);

    const read = (await collect(r.logs(k)))
      .filter((l) => l.stream === 'stdout')
      .map((l) => numberOf(l.text))
      .filter((n) => n !== undefined);
    assert.ok(
      read.length > 40 && read.length * 100 <= 3 * 24 * 1024,
      `logs() read ${read.length} lines: what the capped files hold`,
    );
    assert.ok(
      read.every((n, i) => i === 0 || n > read[i - 1]!),
      'logs() lines in order, oldest generation first',
    );
    assert.ok(read.at(-1)! >= written, 'up to the newest line');
    assert.ok(
      followed.every((n, i) => i === 0 || n > followed[i - 1]!),
      'followed lines in order, none repeated',
    );
    // Lines are lost only when more rotations than kept generations happen between two polls.
    const missing = followed.at(-1)! - followed[0]! + 1 - followed.length;
    assert.ok(missing <= followed.length / 4, `follow lost ${missing} of ${followed.length} lines across rotations`);
    const tail = await collect(r.logs(k, { tail: 5 }));
    assert.equal(tail.filter((l) => l.stream === 'stdout').length, 5, 'tail per stream');
  });
});

describe('local runtime: control-plane restart', () => {
  test('a new runtime adopts running replicas instead of starting a second set, and can stop them', async () => {
    const stateDir = join(local.root, 'adopt');
    const k = key('adopted');
    const workload = modelWorkload(k, 2, models.readmission);
    const a = local.closeAfterTest(new LocalRuntime({ stateDir, exitPollMs: 20 }));
    await a.apply(workload);
    const before = await eventually(statusWhere(a, k, readyCount(2)), {
      timeoutMs: 15_000,
      message: 'two ready under A',
    });
    const pids = a.pids(k).sort();
    await a.close({ keepReplicas: true });
    assert.ok(
      pids.every((p) => !processGone(p)),
      'replicas outlive runtime A',
    );

    const b = runtime({ stateDir });
    const adopted = await eventually(statusWhere(b, k, readyCount(2)), {
      timeoutMs: 15_000,
      message: 'two ready under B',
    });
    assert.deepEqual(b.pids(k).sort(), pids, 'the same processes');
    assert.deepEqual(
      adopted.replicas.map((x) => x.id),
      before.replicas.map((x) => x.id),
    );
    assert.deepEqual(
      adopted.replicas.map((x) => x.endpoint),
      before.replicas.map((x) => x.endpoint),
    );
    await b.apply(workload);
    await b.apply(workload);
    assert.deepEqual(b.pids(k).sort(), pids, 'apply starts nothing new');
    assert.deepEqual(replicaProcesses(`${ENV}/adopted@`).sort(), pids, 'and /proc agrees: exactly those two');
    assert.equal((await b.list()).length, 1);
    await b.remove(k);
    assert.ok(pids.every(processGone), 'B stopped the adopted processes');
    assert.equal(await b.observe(k), undefined);
  });

  test('a recorded pid now used by another process is not adopted (kernel start time differs)', async () => {
    const stateDir = join(local.root, 'reuse');
    const k = key('reused');
    const a = local.closeAfterTest(new LocalRuntime({ stateDir, exitPollMs: 20 }));
    await a.apply(appWorkload(k, 1, HTTP_APP));
    await eventually(statusWhere(a, k, readyCount(1)), { timeoutMs: 15_000, message: 'ready under A' });
    const [oldPid] = a.pids(k);
    await a.close({ keepReplicas: true });
    process.kill(oldPid!, 'SIGKILL');
    // Stand-in for pid reuse: point the record at an unrelated live process.
    const stranger = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60_000)'], { stdio: 'ignore' });
    try {
      const file = join(stateDir, 'workloads', `${ENV}@reused@1`, 'workload.json');
      const record = JSON.parse(await readFile(file, 'utf8')) as { replicas: { pid: number }[] };
      record.replicas[0]!.pid = stranger.pid!;
      await writeFile(file, JSON.stringify(record));

      const b = runtime({ stateDir });
      const status = await eventually(statusWhere(b, k, readyCount(1)), {
        timeoutMs: 15_000,
        message: 'a fresh replica under B',
      });
      assert.notEqual(b.pids(k)[0], stranger.pid, 'the stranger was not adopted');
      assert.equal(status.replicas[0]!.restarts, 1);
      await b.remove(k);
      assert.ok(!processGone(stranger.pid!), 'and was not signalled');
    } finally {
      stranger.kill('SIGKILL');
    }
  });

  test('replicas outlive a control plane killed with SIGKILL and are adopted by the next one', async () => {
    const stateDir = join(local.root, 'killed-control-plane');
    const k = key('survivor');
    const workload = appWorkload(k, 2, HTTP_APP);
    const moduleUrl = new URL('../src/runtime/local/local-runtime.js', import.meta.url).href;
    // A separate control-plane process: applies, waits until both replicas are ready, says so, idles.
    const script = `
      const { LocalRuntime } = await import(${JSON.stringify(moduleUrl)});
      const r = new LocalRuntime({ stateDir: ${JSON.stringify(stateDir)} });
      const w = JSON.parse(process.argv[1]);
      await r.apply(w);
      const poll = setInterval(async () => {
        const s = await r.observe(w.key);
        if (s.readyReplicas === 2) { clearInterval(poll); console.log('ready ' + r.pids(w.key).join(' ')); }
      }, 20);`;
    const controlPlane = spawn(process.execPath, ['--input-type=module', '-e', script, JSON.stringify(workload)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    controlPlane.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    try {
      await eventually(
        () => {
          assert.ok(controlPlane.exitCode === null, `control plane did not report ready: ${out}`);
          return /ready \d+ \d+\n/.test(out);
        },
        { timeoutMs: 10_000, intervalMs: 20, message: () => `control plane did not report ready: ${out}` },
      );
    } finally {
      controlPlane.kill('SIGKILL');
    }
    await new Promise((resolve) => controlPlane.once('exit', resolve));
    const pids = /ready (\d+) (\d+)/.exec(out)!.slice(1).map(Number).sort();
    assert.ok(
      pids.every((p) => !processGone(p)),
      'replicas survive the control plane',
    );

    const b = runtime({ stateDir });
    await eventually(statusWhere(b, k, readyCount(2)), {
      timeoutMs: 15_000,
      message: 'two ready under the new control plane',
    });
    await b.apply(workload);
    assert.deepEqual(b.pids(k).sort(), pids, 'adopted, not started again');
    assert.deepEqual(replicaProcesses(`${ENV}/survivor@`).sort(), pids);
    await b.remove(k);
    assert.ok(pids.every(processGone), 'stopped by the new control plane');
  });

  test("a replica's last termination survives a control-plane restart (kept in its state file)", async () => {
    const stateDir = join(local.root, 'termination');
    const k = key('terminated');
    const a = local.closeAfterTest(
      new LocalRuntime({ stateDir, exitPollMs: 20, backoff: { initialMs: 100, maxMs: 2_000 } }),
    );
    await a.apply(appWorkload(k, 1, HTTP_APP));
    await eventually(statusWhere(a, k, readyCount(1)), { timeoutMs: 15_000, message: 'ready under A' });
    process.kill(a.pids(k)[0]!, 'SIGKILL');
    const restarted = await eventually(
      statusWhere(a, k, (s) => readyCount(1)(s) && s.replicas[0]!.restarts === 1),
      { timeoutMs: 15_000, message: 'restarted under A' },
    );
    const ended = restarted.replicas[0]!.lastTermination;
    assert.equal(ended?.reason, 'Error');
    assert.match(ended.message, /SIGKILL/);
    await a.close({ keepReplicas: true });

    const b = runtime({ stateDir });
    const adopted = await eventually(statusWhere(b, k, readyCount(1)), {
      timeoutMs: 15_000,
      message: 'adopted under B',
    });
    assert.deepEqual(
      adopted.replicas[0]!.lastTermination,
      ended,
      'the new control plane still knows why the last process ended',
    );
    await b.remove(k);
  });

  test('an adopted replica is linked back to its cpu cgroup, which is removed when it stops', async () => {
    // A directory stands in for a cgroup v2 with the cpu controller enabled for children.
    const cgroupDir = join(local.root, 'fake-cgroup');
    await mkdir(cgroupDir, { recursive: true });
    const stateDir = join(local.root, 'cgroup-adopt');
    const k = key('cgrouped');
    const workload = appWorkload(k, 1, HTTP_APP, { resources: { limits: { cpu: '500m' } } });
    const a = local.closeAfterTest(
      new LocalRuntime({ stateDir, exitPollMs: 20, cpuCgroup: { ok: true, dir: cgroupDir } }),
    );
    await a.apply(workload);
    const ready = await eventually(statusWhere(a, k, readyCount(1)), { timeoutMs: 15_000, message: 'ready under A' });
    const group = join(cgroupDir, `wharf-${ready.replicas[0]!.id}`);
    assert.equal(
      await readFile(join(group, 'cgroup.procs'), 'utf8'),
      String(a.pids(k)[0]),
      'placed in its cgroup at spawn',
    );
    await a.close({ keepReplicas: true });
    // A real cgroup directory holds only kernel files and can be removed once empty of processes.
    await rm(join(group, 'cgroup.procs'));
    await rm(join(group, 'cpu.max'));

    const b = runtime({ stateDir, cpuCgroup: { ok: true, dir: cgroupDir } });
    await eventually(statusWhere(b, k, readyCount(1)), { timeoutMs: 15_000, message: 'adopted under B' });
    await b.remove(k);
    await assert.rejects(stat(group), { code: 'ENOENT' }, "the adopted replica's cgroup is removed at its stop");
  });

  test('one runtime per state directory', async () => {
    const stateDir = join(local.root, 'locked');
    const a = runtime({ stateDir });
    await a.start();
    const b = new LocalRuntime({ stateDir });
    await assert.rejects(
      b.start(),
      (err: Error) =>
        err instanceof UnavailableError && /in use by another LocalRuntime in this process/.test(err.message),
    );
    await a.close();
    const c = runtime({ stateDir });
    await c.start();
  });
});
