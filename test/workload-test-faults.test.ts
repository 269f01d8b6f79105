/**
 * Test-only fault labels (`wharf.dev/test-fault-*` on a model version) act only behind the explicit
 * switch (`wharf up --enable-test-faults`, `testFaults` in the control plane's options): without it
 * they are inert labels, in the kind's workload and through the deployment controller; with it the
 * replicas get the fault flags, and the control plane says so in its log at start.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { createDeploymentController } from '../src/controller/deployment-controller.js';
import { DeploymentService } from '../src/services/deployment-service.js';
import { startControlPlane, TEST_FAULTS_WARNING } from '../src/server/control-plane.js';
import { specFromInput } from '../src/core/deployment-spec.js';
import type { Workload } from '../src/runtime/runtime.js';
import { FAULT_LABELS } from '../src/workloads/onnx-model/test-faults.js';
import { WORKLOAD_SPEC_KINDS, workloadKindOf } from '../src/workloads/workload-kind.js';
import { FakeRuntime } from './support/fake-runtime.js';
import { DIGESTS, seededStore } from './support/deployment-fixtures.js';
import { eventually } from './support/eventually.js';

const LABELS = { [FAULT_LABELS.errorRate]: '1', [FAULT_LABELS.latencyMs]: '200', [FAULT_LABELS.faultDir]: '/tmp/f' };
const FAULT_ARGS = [
  '--inject-error-rate',
  '1',
  '--inject-latency-ms',
  '200',
  '--inject-fault-file',
  '/tmp/f/{replica}',
];

test('the onnx-model kind ignores fault labels unless test faults are on', () => {
  const kind = workloadKindOf('model');
  const source = {
    environment: 'staging',
    name: 'risk',
    revision: 1,
    spec: specFromInput(
      { name: 'risk', environment: 'staging', model: { name: 'risk', version: '9.0.0' } },
      WORKLOAD_SPEC_KINDS,
    ),
    modelVersion: {
      version: '9.0.0',
      artifact: { digest: DIGESTS['1.3.0'], size: 1, filename: 'm.onnx' },
      labels: LABELS,
    },
    artifactPath: '/blobs/13',
  };
  assert.equal(kind.buildWorkload(source).model?.serverArgs, undefined, 'off by default');
  assert.equal(kind.buildWorkload({ ...source, testFaults: false }).model?.serverArgs, undefined);
  assert.deepEqual(kind.buildWorkload({ ...source, testFaults: true }).model?.serverArgs, FAULT_ARGS);
});

/** The workload the deployment controller applies for a faulty model version, with the switch `testFaults`. */
async function appliedWorkload(t: TestContext, testFaults: boolean | undefined): Promise<Workload> {
  const ts = await seededStore();
  await ts.store.modelVersions.create({
    model: 'readmission',
    version: '9.0.0',
    artifact: { digest: DIGESTS['1.3.0'], size: 1234, filename: 'model.onnx' },
    signature: { inputs: [], outputs: [] },
    labels: LABELS,
    createdAt: '2026-01-01T00:00:00.000Z',
  });
  const runtime = new FakeRuntime({ readyAfterMs: 0 });
  const controller = createDeploymentController({
    store: ts.store,
    runtime,
    artifactPath: (digest) => `/blobs/${digest.slice('sha256:'.length)}`,
    pollIntervalMs: 20,
    ...(testFaults === undefined ? {} : { testFaults }),
  });
  t.after(async () => {
    await controller.stop();
    await ts.cleanup();
  });
  await controller.start();
  await new DeploymentService(ts.store).create(
    { name: 'risk', environment: 'staging', model: { name: 'readmission', version: '9.0.0' } },
    { actor: 'alice' },
  );
  await eventually(() => runtime.applies.length > 0, { timeoutMs: 5_000, message: 'the first apply' });
  return runtime.applies[0]!;
}

test('the deployment controller applies fault labels only with testFaults on', async (t) => {
  assert.equal((await appliedWorkload(t, undefined)).model?.serverArgs, undefined, 'off by default');
  assert.equal((await appliedWorkload(t, false)).model?.serverArgs, undefined);
  assert.deepEqual((await appliedWorkload(t, true)).model?.serverArgs, FAULT_ARGS);
});

test('the control plane says at start that test faults are on, and only then', async (t) => {
  // A home under a regular file: the start fails right after its first log lines, cheaply.
  const dir = mkdtempSync(join(tmpdir(), 'wharf-test-faults-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'not-a-directory');
  writeFileSync(file, '');
  const start = async (testFaults: boolean): Promise<string[]> => {
    const lines: string[] = [];
    const options = { home: join(file, 'home'), host: '127.0.0.1', port: 0, gatewayPort: 0, testFaults };
    await assert.rejects(startControlPlane({ ...options, log: (line) => void lines.push(line) }));
    return lines;
  };
  assert.deepEqual(
    (await start(true)).filter((l) => l === TEST_FAULTS_WARNING),
    [TEST_FAULTS_WARNING],
  );
  assert.match(TEST_FAULTS_WARNING, /^test faults enabled: .*never in production/);
  assert.equal((await start(false)).includes(TEST_FAULTS_WARNING), false);
});
