// Pod and Deployment status → workload status (table tests of the pure mapping), log line parsing,
// and the init container's artifact fetch against a real HTTP server: wrong bytes never land.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fetchArtifact } from '../src/runtime/kubernetes/artifact-fetch.js';
import { parseLogLine } from '../src/runtime/kubernetes/pod-logs.js';
import { type PodLike, replicaStatus, workloadStatus } from '../src/runtime/kubernetes/pod-status.js';

const endpointOf = (p: PodLike): string => `http://${p.status!.podIP}:8080`;
const running = { running: { startedAt: '2026-01-01T00:00:00Z' } };
const pod = (status: PodLike['status'], extra: Partial<NonNullable<PodLike['metadata']>> = {}): PodLike => ({
  metadata: { name: 'p-1', creationTimestamp: '2026-01-01T00:00:00Z', ...extra },
  status: {
    phase: 'Running',
    podIP: '10.0.0.7',
    startTime: new Date('2026-01-01T00:00:01Z') as unknown as string,
    ...status,
  },
});
const ready = [{ type: 'Ready', status: 'True' }];

test('replica phases from pod status', () => {
  const cases: [string, PodLike, string][] = [
    ['pending', pod({ phase: 'Pending', podIP: undefined }), 'starting'],
    [
      'running, not ready yet',
      pod({ containerStatuses: [{ name: 'server', restartCount: 0, state: running }] }),
      'starting',
    ],
    [
      'ready',
      pod({ conditions: ready, containerStatuses: [{ name: 'server', ready: true, state: running }] }),
      'ready',
    ],
    [
      'restarted, not ready',
      pod({ containerStatuses: [{ name: 'server', restartCount: 2, state: running }] }),
      'unready',
    ],
    [
      'terminating',
      pod(
        { conditions: ready, containerStatuses: [{ name: 'server', state: running }] },
        { deletionTimestamp: '2026-01-01T00:01:00Z' },
      ),
      'stopping',
    ],
    [
      'crash loop',
      pod({
        containerStatuses: [{ name: 'server', restartCount: 4, state: { waiting: { reason: 'CrashLoopBackOff' } } }],
      }),
      'crashed',
    ],
    ['failed', pod({ phase: 'Failed', reason: 'Evicted', message: 'low memory' }), 'crashed'],
  ];
  for (const [what, p, phase] of cases) assert.equal(replicaStatus(p, endpointOf).phase, phase, what);
  const r = replicaStatus(
    pod({
      conditions: ready,
      containerStatuses: [{ name: 'server', restartCount: 1, state: running }],
      initContainerStatuses: [{ name: 'fetch', restartCount: 2 }],
    }),
    endpointOf,
  );
  assert.deepEqual(r, {
    id: 'p-1',
    endpoint: 'http://10.0.0.7:8080',
    phase: 'ready',
    restarts: 3,
    startedAt: '2026-01-01T00:00:01.000Z',
  });
  assert.equal(
    replicaStatus(pod({ phase: 'Pending' }), endpointOf).endpoint,
    undefined,
    'no endpoint before a container runs',
  );
});

test('CrashLoop conditions say why: crash loop with last exit, OOMKilled, image pull, missing secret', () => {
  const cases: [PodLike, string, RegExp][] = [
    [
      pod({
        containerStatuses: [
          {
            name: 'server',
            restartCount: 3,
            state: { waiting: { reason: 'CrashLoopBackOff', message: 'back-off 40s' } },
            lastState: { terminated: { reason: 'Error', exitCode: 1 } },
          },
        ],
      }),
      'CrashLoopBackOff',
      /server: CrashLoopBackOff: back-off 40s; last exit: Error \(code 1\)/,
    ],
    [
      pod({
        containerStatuses: [
          {
            name: 'server',
            restartCount: 1,
            state: { waiting: { reason: 'CrashLoopBackOff' } },
            lastState: { terminated: { reason: 'OOMKilled', exitCode: 137, finishedAt: '2026-01-01T00:02:00Z' } },
          },
        ],
      }),
      'OOMKilled',
      /more memory than its limit \(exit 137, 1 restarts\)/,
    ],
    [
      pod({
        phase: 'Pending',
        containerStatuses: [
          { name: 'app', state: { waiting: { reason: 'ImagePullBackOff', message: 'pull access denied for x' } } },
        ],
      }),
      'ImagePullBackOff',
      /pull access denied/,
    ],
    [
      pod({
        phase: 'Pending',
        containerStatuses: [
          {
            name: 'app',
            state: { waiting: { reason: 'CreateContainerConfigError', message: 'secret "db" not found' } },
          },
        ],
      }),
      'CreateContainerConfigError',
      /secret "db" not found/,
    ],
    [
      pod({
        phase: 'Pending',
        initContainerStatuses: [
          { name: 'fetch-artifact', restartCount: 2, state: { waiting: { reason: 'CrashLoopBackOff' } } },
        ],
      }),
      'CrashLoopBackOff',
      /fetch-artifact/,
    ],
  ];
  for (const [p, reason, message] of cases) {
    const s = workloadStatus(
      { environment: 'e', deployment: 'd', revision: 1 },
      { spec: { replicas: 1 } },
      [p],
      endpointOf,
      '2026-01-01T00:05:00Z',
    );
    const crash = s.conditions.find((c) => c.type === 'CrashLoop');
    assert.ok(crash, reason);
    assert.equal(crash.status, 'True');
    assert.equal(crash.reason, reason);
    assert.match(crash.message, message);
  }
  const healthy = workloadStatus(
    { environment: 'e', deployment: 'd', revision: 1 },
    { spec: { replicas: 1 } },
    [pod({ conditions: ready, containerStatuses: [{ name: 's', ready: true, state: running }] })],
    endpointOf,
    'now',
  );
  assert.deepEqual(
    healthy.conditions.map((c) => [c.type, c.status]),
    [['Available', 'True']],
  );
  assert.equal(healthy.readyReplicas, 1);
});

test('log lines: the kubelet timestamp becomes the time, the rest is the text', () => {
  assert.deepEqual(parseLogLine('p', '2026-01-01T10:00:00.123456789Z hello world'), {
    replica: 'p',
    time: '2026-01-01T10:00:00.123Z',
    stream: 'stdout',
    text: 'hello world',
  });
  assert.equal(parseLogLine('p', 'no stamp here').text, 'no stamp here');
});

test('fetch-artifact writes the file only when its sha256 matches; 404 is not retried, 503 is', async () => {
  const good = Buffer.from('model bytes');
  const digest = `sha256:${createHash('sha256').update(good).digest('hex')}`;
  let calls = 0;
  const server = createServer((req, res) => {
    calls++;
    if (req.url === '/flaky' && calls < 3) return void res.writeHead(503).end();
    if (req.url === '/missing') return void res.writeHead(404).end();
    res.end(req.url === '/wrong' ? Buffer.from('other bytes') : good);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const dir = await mkdtemp(join(tmpdir(), 'wharf-fetch-'));
  try {
    await assert.rejects(
      fetchArtifact({ url: `${base}/wrong`, digest, out: join(dir, 'm.onnx'), attempts: 3 }),
      /has digest sha256:[0-9a-f]{64}, expected sha256:/,
    );
    assert.deepEqual(await readdir(dir), [], 'nothing left behind after a mismatch');
    calls = 0;
    await assert.rejects(
      fetchArtifact({ url: `${base}/missing`, digest, out: join(dir, 'm.onnx'), attempts: 3 }),
      /answered 404/,
    );
    assert.equal(calls, 1, '404 is not retried');
    calls = 0;
    assert.equal(
      await fetchArtifact({ url: `${base}/flaky`, digest, out: join(dir, 'm.onnx'), attempts: 3 }),
      good.length,
    );
    assert.equal(calls, 3);
    assert.deepEqual(await readFile(join(dir, 'm.onnx')), good);
    await assert.rejects(
      fetchArtifact({ url: base, digest: 'sha256:xyz', out: join(dir, 'x') }),
      /^InvalidArgumentError: --digest: must be sha256:<64 lowercase hex digits>/,
    );
  } finally {
    server.close();
    await rm(dir, { recursive: true, force: true });
  }
});
