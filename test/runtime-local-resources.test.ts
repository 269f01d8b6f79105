// The pure parts of local resource handling: the ResourcesEnforced plan and its wording, the
// thread cap, the replica's flags and environment, cgroup v2 detection and placement (against a
// directory tree standing in for /sys/fs/cgroup), and the coalescing of change notifications.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChangeNotifier } from '../src/runtime/local/change-notifier.js';
import { cpuMaxLine, detectCpuCgroup, placeInCpuCgroup, removeCpuCgroup } from '../src/runtime/local/cpu-cgroup.js';
import { resourcePlan, threadCap } from '../src/runtime/local/resource-policy.js';
import { replicaCommand } from '../src/runtime/local/workload-spec.js';
import type { Workload, WorkloadKey } from '../src/runtime/runtime.js';

const probe = { path: '/r', intervalMs: 1000, timeoutMs: 1000, retries: 3, startupGraceMs: 0 };
const base: Workload = {
  key: { environment: 'staging', deployment: 'risk', revision: 1 },
  replicas: 1,
  model: { name: 'risk', version: '1.0.0', artifactPath: '/tmp/m.onnx', digest: `sha256:${'0'.repeat(64)}` },
  readiness: probe,
  liveness: probe,
};
const noCgroup = { ok: false as const, reason: 'test' };

test('thread cap: max(1, ceil(cores))', () => {
  assert.deepEqual([0.1, 0.5, 1, 1.001, 1.5, 2, 3.2].map(threadCap), [1, 1, 1, 2, 2, 2, 4]);
});

test('the plan states what is enforced: True only when every limit is hard and nothing is merely carried', () => {
  assert.deepEqual(resourcePlan(base, noCgroup), {});
  const memoryOnly = resourcePlan({ ...base, resources: { limits: { memory: '1Gi' } } }, noCgroup);
  assert.deepEqual(memoryOnly.condition, {
    status: 'True',
    reason: 'LimitsEnforced',
    message: 'memory limit 1Gi enforced by RSS watchdog',
  });
  assert.deepEqual(memoryOnly.memoryLimit, { bytes: 2 ** 30, quantity: '1Gi' });
  const all = resourcePlan(
    { ...base, resources: { cpu: '500m', memory: '512Mi', gpu: 1, limits: { cpu: '1', memory: '1Gi' } } },
    noCgroup,
  );
  assert.deepEqual(all.condition, {
    status: 'False',
    reason: 'PartiallyEnforced',
    message:
      'memory limit 1Gi enforced by RSS watchdog; cpu limit 1 honoured by a thread cap of 1 (no writable cgroup: not a hard quota); ' +
      'requests recorded (cpu=500m, memory=512Mi); gpu 1 carried (no GPU scheduling)',
  });
  assert.equal(all.cgroupDir, undefined);
  const hard = resourcePlan(
    { ...base, resources: { limits: { cpu: '2', memory: '1Gi' } } },
    { ok: true, dir: '/sys/fs/cgroup/x' },
  );
  assert.equal(hard.condition?.status, 'True');
  assert.equal(
    hard.condition?.message,
    'memory limit 1Gi enforced by RSS watchdog; cpu limit 2 enforced by cgroup cpu.max and honoured by a thread cap of 2',
  );
  assert.equal(hard.cgroupDir, '/sys/fs/cgroup/x');
  assert.equal(hard.cpuLimitCores, 2);
  assert.equal(resourcePlan({ ...base, resources: { cpu: '1' } }, noCgroup).condition?.reason, 'NotEnforced');
});

test('a model replica gets --threads and UV_THREADPOOL_SIZE from the cpu limit, WHARF_GPUS from gpu; its own env and serverArgs cannot lift the cap', () => {
  const w: Workload = {
    ...base,
    resources: { gpu: 2, limits: { cpu: '2500m' } },
    model: { ...base.model!, serverArgs: ['--max-batch-size', '8'] },
  };
  const { argv, env } = replicaCommand(w, 'risk-1-0', 4321, '/bin/wharf.js', 30_000);
  assert.deepEqual(argv.slice(argv.indexOf('--threads'), argv.indexOf('--threads') + 2), ['--threads', '3']);
  assert.deepEqual(argv.slice(-2), ['--max-batch-size', '8'], "the workload's own flags still come last");
  assert.equal(env.UV_THREADPOOL_SIZE, '3');
  assert.equal(env.WHARF_GPUS, '2');
  // The cap wins over the workload's own env and flags; other variables and flags pass through.
  const lifted = replicaCommand(
    {
      ...w,
      env: { UV_THREADPOOL_SIZE: '16', OTHER: 'x' },
      model: { ...w.model!, serverArgs: ['--threads', '64', '--max-batch-size', '8', '--threads=32'] },
    },
    'r',
    1,
    '/b',
    1_000,
  );
  assert.equal(lifted.env.UV_THREADPOOL_SIZE, '3');
  assert.equal(lifted.env.OTHER, 'x');
  assert.deepEqual(
    lifted.argv.filter((a) => a.startsWith('--threads')),
    ['--threads'],
    "only the cap's --threads",
  );
  assert.deepEqual(lifted.argv.slice(lifted.argv.indexOf('--threads'), lifted.argv.indexOf('--threads') + 2), [
    '--threads',
    '3',
  ]);
  assert.deepEqual(lifted.argv.slice(-2), ['--max-batch-size', '8']);
  // Without a cpu limit there is no cap, and the workload's own --threads and env stand.
  const uncapped = replicaCommand(
    { ...base, env: { UV_THREADPOOL_SIZE: '16' }, model: { ...base.model!, serverArgs: ['--threads', '64'] } },
    'r',
    1,
    '/b',
    1_000,
  );
  assert.equal(uncapped.env.UV_THREADPOOL_SIZE, '16');
  assert.deepEqual(uncapped.argv.slice(-2), ['--threads', '64']);
  const plain = replicaCommand(base, 'risk-1-0', 4321, '/bin/wharf.js', 30_000);
  assert.ok(!plain.argv.includes('--threads'));
  assert.equal(plain.env.UV_THREADPOOL_SIZE, undefined);
  assert.equal(plain.env.WHARF_GPUS, undefined);
});

test('cgroup v2 detection: needs the cpu controller, enabled for children, in a writable directory', async () => {
  const root = await mkdtemp(join(tmpdir(), 'wharf-cgroup-'));
  try {
    const mountinfo = `30 24 0:26 / ${root} rw,nosuid shared:4 - cgroup2 cgroup2 rw\n25 1 8:1 / / rw - ext4 /dev/sda1 rw\n`;
    const dir = join(root, 'wharf.slice');
    await mkdir(dir);
    assert.deepEqual(detectCpuCgroup('1:cpu:/\n', mountinfo), { ok: false, reason: 'no cgroup v2 hierarchy' });
    assert.deepEqual(detectCpuCgroup('0::/wharf.slice\n', '25 1 8:1 / / rw - ext4 /dev/sda1 rw\n'), {
      ok: false,
      reason: 'cgroup v2 is not mounted',
    });
    await writeFile(join(dir, 'cgroup.controllers'), 'memory pids\n');
    assert.deepEqual(detectCpuCgroup('0::/wharf.slice\n', mountinfo), {
      ok: false,
      reason: `the cgroup v2 ${dir} has no cpu controller`,
    });
    await writeFile(join(dir, 'cgroup.controllers'), 'cpuset cpu memory\n');
    await writeFile(join(dir, 'cgroup.subtree_control'), 'memory\n');
    assert.deepEqual(detectCpuCgroup('0::/wharf.slice\n', mountinfo), {
      ok: false,
      reason: `the cpu controller is not enabled for children of ${dir}`,
    });
    await writeFile(join(dir, 'cgroup.subtree_control'), 'cpu memory\n');
    assert.deepEqual(detectCpuCgroup('0::/wharf.slice\n', mountinfo), { ok: true, dir });

    assert.equal(cpuMaxLine(0.5), '50000 100000');
    assert.equal(cpuMaxLine(2), '200000 100000');
    assert.equal(cpuMaxLine(0.001), '1000 100000', 'the kernel minimum quota');
    const group = placeInCpuCgroup(dir, 'risk-1-0', 4242, 1.5);
    assert.equal(group, join(dir, 'wharf-risk-1-0'));
    assert.equal(await readFile(join(group, 'cpu.max'), 'utf8'), '150000 100000');
    assert.equal(await readFile(join(group, 'cgroup.procs'), 'utf8'), '4242');
    removeCpuCgroup(group); // a real cgroup directory holds only kernel files; here it is not empty and stays
    removeCpuCgroup(join(dir, 'missing')); // and a missing one is fine
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('change notifications are coalesced per key until the next turn, and stop on unsubscribe', async () => {
  const notifier = new ChangeNotifier();
  const a: WorkloadKey = { environment: 'e', deployment: 'a', revision: 1 };
  const b: WorkloadKey = { environment: 'e', deployment: 'b', revision: 2 };
  const heard: string[] = [];
  const off = notifier.subscribe((k) => heard.push(`${k.deployment}@${k.revision}`));
  notifier.subscribe(() => {
    throw new Error('a broken listener');
  });
  for (let i = 0; i < 5; i++) notifier.announce(a);
  notifier.announce(b);
  assert.deepEqual(heard, [], 'not synchronously');
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(heard, ['a@1', 'b@2'], 'one call per key; a throwing listener does not stop the others');
  notifier.announce(a);
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(heard, ['a@1', 'b@2', 'a@1'], 'a later change is a new call');
  off();
  notifier.announce(a);
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(heard.length, 3);
});
