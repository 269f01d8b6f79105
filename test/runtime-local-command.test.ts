import assert from 'node:assert/strict';
import { test } from 'node:test';
import { drainSeconds, replicaCommand } from '../src/runtime/local/workload-spec.js';
import type { Workload } from '../src/runtime/runtime.js';

const probe = { path: '/v2/health/ready', intervalMs: 1000, timeoutMs: 1000, retries: 3, startupGraceMs: 0 };
const workload = (serverArgs: string[] = []): Workload => ({
  key: { environment: 'staging', deployment: 'risk', revision: 1 },
  replicas: 1,
  model: {
    name: 'risk',
    version: '1.0.0',
    artifactPath: '/tmp/m.onnx',
    digest: `sha256:${'0'.repeat(64)}`,
    serverArgs,
  },
  readiness: probe,
  liveness: { ...probe, path: '/v2/health/live' },
});

test('a model replica drains for less than the runtime waits before SIGKILL', () => {
  assert.equal(drainSeconds(30_000), 24);
  assert.equal(drainSeconds(1_000), 0.8);
  const { argv } = replicaCommand(workload(), 'risk-1-0', 4321, '/bin/wharf.js', 30_000);
  const at = argv.indexOf('--grace-period');
  assert.ok(at > 0, argv.join(' '));
  assert.ok(Number(argv[at + 1]) * 1000 < 30_000, `drain ${argv[at + 1]} s must end before the 30 s stop grace`);
  assert.deepEqual(argv.slice(argv.indexOf('--port'), argv.indexOf('--port') + 2), ['--port', '4321']);
});

test("the workload's own server flags come last, so they can override the drain period", () => {
  const { argv } = replicaCommand(workload(['--grace-period', '5']), 'risk-1-0', 4321, '/bin/wharf.js', 30_000);
  assert.deepEqual(argv.slice(-2), ['--grace-period', '5']);
});
