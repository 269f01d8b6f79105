// Batch jobs on Kubernetes: the indexed Job (one shard per completion index) and the CronJob of a
// schedule validate against the Kubernetes v1.30 schema like every other rendered object, and each
// index's task names its own shard.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { BatchTask } from '../src/protocol/batch-task.js';
import { renderBatchJob } from '../src/runtime/manifests/batch-job.js';
import { KubernetesSchema } from './support/k8s-schema.js';

const schema = new KubernetesSchema();
const task: BatchTask = {
  jobId: 'staging/score/1',
  model: { name: 'risk', version: '1.0.0', artifactPath: '/x', digest: `sha256:${'a'.repeat(64)}` },
  input: { url: 's3://data/in/', format: 'jsonl' },
  output: { url: 's3://data/out.jsonl', format: 'jsonl' },
  batchSize: 256,
  concurrency: 2,
  errorThreshold: { percent: 1 },
  batchTimeoutMs: 60_000,
  retries: 2,
  workDir: '/anything',
};

test('an indexed Job with one task per completion index validates against Kubernetes v1.30', () => {
  const objects = renderBatchJob(task, { registryUrl: 'http://wharf:8080', shards: 4 }, 'wharf-staging', 'score');
  for (const o of objects) assert.deepEqual(schema.validate(o), [], `${o.kind} ${o.metadata.name}`);
  const job = objects.find((o) => o.kind === 'Job') as unknown as {
    spec: { completionMode: string; completions: number; template: { spec: { containers: { command: string[] }[] } } };
  };
  assert.equal(job.spec.completionMode, 'Indexed');
  assert.equal(job.spec.completions, 4);
  assert.match(job.spec.template.spec.containers[0]!.command.join(' '), /task-\$\(JOB_COMPLETION_INDEX\)\.json/);
  const data = (objects.find((o) => o.kind === 'ConfigMap') as unknown as { data: Record<string, string> }).data;
  const shards = Object.values(data).map((t) => (JSON.parse(t) as BatchTask).shard);
  assert.deepEqual(
    shards,
    [0, 1, 2, 3].map((index) => ({ index, count: 4 })),
  );
});

test('a schedule renders a CronJob that validates against Kubernetes v1.30', () => {
  const schedule = {
    cron: '0 2 * * *',
    timezone: 'Europe/Berlin',
    concurrencyPolicy: 'Forbid' as const,
    historyLimit: 3,
  };
  const objects = renderBatchJob(task, { registryUrl: 'http://wharf:8080', schedule }, 'wharf-staging', 'nightly');
  for (const o of objects) assert.deepEqual(schema.validate(o), [], `${o.kind} ${o.metadata.name}`);
  const cron = objects.find((o) => o.kind === 'CronJob') as unknown as {
    spec: { timeZone: string; jobTemplate: { spec: { completionMode: string } } };
  };
  assert.equal(cron.spec.timeZone, 'Europe/Berlin');
  assert.equal(cron.spec.jobTemplate.spec.completionMode, 'Indexed');
  // A broken object is refused: the check can fail.
  assert.notDeepEqual(schema.validate({ ...objects[1]!, spec: { ...(objects[1]!.spec as object), schedul: 'x' } }), []);
});
