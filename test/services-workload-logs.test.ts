/**
 * WorkloadLogs (services/workload-logs.ts), the logs use case the API's `…/logs` route calls: it
 * reads every workload of the deployment (not another deployment's), narrows to the workload that
 * has a given replica, and refuses an unknown replica before any line is read.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Deployment } from '../src/core/resources.js';
import {
  type LogLine,
  type LogOptions,
  selects,
  type WorkloadKey,
  type WorkloadSelector,
  type WorkloadStatus,
} from '../src/runtime/runtime.js';
import { WorkloadLogs } from '../src/services/workload-logs.js';

const deployment = { name: 'risk', environment: 'staging' } as Deployment;

function workload(environment: string, name: string, revision: number, replicas: string[]): WorkloadStatus {
  return {
    key: { environment, deployment: name, revision },
    desiredReplicas: replicas.length,
    readyReplicas: replicas.length,
    replicas: replicas.map((id) => ({ id, phase: 'ready', restarts: 0 })),
    conditions: [],
  };
}

/**
 * A runtime whose workloads each log one line per replica, and which records what was asked. Its
 * `list` honours the selector, as every Runtime does (the contract suite checks the engines).
 */
function fakeRuntime(workloads: WorkloadStatus[]) {
  const asked: { key: WorkloadKey; options: LogOptions | undefined }[] = [];
  return {
    asked,
    list: (selector: WorkloadSelector = {}) => Promise.resolve(workloads.filter((w) => selects(selector, w.key))),
    logs(key: WorkloadKey, options?: LogOptions): AsyncIterable<LogLine> {
      asked.push({ key, options });
      const w = workloads.find((x) => JSON.stringify(x.key) === JSON.stringify(key))!;
      const lines = w.replicas
        .filter((r) => options?.replica === undefined || r.id === options.replica)
        .map((r) => ({ replica: r.id, time: '2026-01-01T00:00:00.000Z', stream: 'stdout' as const, text: r.id }));
      return (async function* () {
        yield* lines;
      })();
    },
  };
}

async function collect(lines: AsyncIterable<LogLine>): Promise<string[]> {
  const texts: string[] = [];
  for await (const line of lines) texts.push(line.text);
  return texts;
}

const workloads = [
  workload('staging', 'risk', 1, ['r1-a']),
  workload('staging', 'risk', 2, ['r2-a', 'r2-b']),
  workload('staging', 'other', 1, ['o-a']),
  workload('production', 'risk', 1, ['p-a']),
];

test("every workload of the deployment is read, in the runtime's order, and no other deployment's", async () => {
  const runtime = fakeRuntime(workloads);
  const read = await new WorkloadLogs(runtime).select(deployment);
  assert.deepEqual(await collect(read({ tail: 5 })), ['r1-a', 'r2-a', 'r2-b']);
  assert.deepEqual(
    runtime.asked.map((a) => [a.key.revision, a.options?.tail]),
    [
      [1, 5],
      [2, 5],
    ],
  );
});

test('with a replica, only the workload that has it is read, for that replica', async () => {
  const runtime = fakeRuntime(workloads);
  const read = await new WorkloadLogs(runtime).select(deployment, 'r2-b');
  assert.deepEqual(await collect(read({ follow: true })), ['r2-b']);
  assert.deepEqual(
    runtime.asked.map((a) => [a.key.revision, a.options?.replica, a.options?.follow]),
    [[2, 'r2-b', true]],
  );
});

test('an unknown replica is NOT_FOUND naming the replicas that run, and nothing is read', async () => {
  const runtime = fakeRuntime(workloads);
  await assert.rejects(new WorkloadLogs(runtime).select(deployment, 'nope'), (e: Error & { code?: string }) => {
    assert.equal(e.code, 'NOT_FOUND');
    assert.match(e.message, /has no replica "nope" \(replicas: r1-a, r2-a, r2-b\)/);
    return true;
  });
  await assert.rejects(new WorkloadLogs(fakeRuntime([])).select(deployment, 'nope'), /\(no replica runs\)/);
  assert.equal(runtime.asked.length, 0);
});
