/**
 * A batch job as Kubernetes objects: an indexed `Job` (completionMode Indexed, one shard per
 * completion index) whose pods fetch the model artifact like model pods do and run `wharf
 * job-worker` on the task of their index, and a `CronJob` around the same pod template for a
 * schedule. The tasks live in a ConfigMap, one file per index (`task-<i>.json`, each with its
 * `shard`); the pod picks its own through `JOB_COMPLETION_INDEX`, taken from the completion-index
 * annotation by the downward API and expanded by the kubelet in the container's arguments, so the
 * worker needs no Kubernetes knowledge. The work directory is an emptyDir: it survives a container
 * restart in the pod (`backoffLimitPerIndex`), which resumes from its checkpoints. Pure.
 *
 * @example
 *   const objects = renderBatchJob(task, { shards: 4, registryUrl: 'http://wharf:8080' }, 'wharf-staging', 'score');
 */
import type { BatchTask } from '../../protocol/batch-task.js';
import type { KubeObject } from './render.js';
import { dnsLabel, LABELS } from './labels.js';
import { resolveManifestOptions, type ManifestOptions } from './manifest-options.js';

/** Settings beyond the manifests' usual ones. */
export interface BatchManifestOptions extends ManifestOptions {
  /** Completion indexes (shards) run at once and in all (default 1). */
  readonly shards?: number;
  /** Restarts of one index's pod before that index fails (default 3). */
  readonly retriesPerIndex?: number;
  /** A schedule: render a CronJob instead of a Job. */
  readonly schedule?: {
    cron: string;
    timezone: string;
    concurrencyPolicy: 'Forbid' | 'Replace' | 'Allow';
    historyLimit: number;
  };
}

const TASK_MOUNT = '/etc/wharf/task';
const WORK_MOUNT = '/work';
const MODEL_FILE = '/models/model.onnx';

/** The ConfigMap of tasks and the Job (or CronJob) that runs them, in `namespace`, named after `name`. */
export function renderBatchJob(
  task: BatchTask,
  options: BatchManifestOptions,
  namespace: string,
  name: string,
): KubeObject[] {
  const o = resolveManifestOptions(options);
  const shards = options.shards ?? 1;
  const base = dnsLabel(`job-${name}`);
  const labels = { [LABELS.owner]: o.owner, 'wharf.dev/job': dnsLabel(name) };
  const tasks: Record<string, string> = {};
  for (let index = 0; index < shards; index++) {
    const shardTask: BatchTask = {
      ...task,
      model: { ...task.model, artifactPath: MODEL_FILE },
      workDir: WORK_MOUNT,
      ...(shards > 1 ? { shard: { index, count: shards } } : {}),
    };
    tasks[`task-${index}.json`] = JSON.stringify(shardTask, null, 2);
  }
  const configMap: KubeObject = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: `${base}-tasks`, namespace, labels },
    data: tasks,
  };
  const restricted = {
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    runAsNonRoot: true,
    capabilities: { drop: ['ALL'] },
  };
  const pod = {
    metadata: { labels },
    spec: {
      restartPolicy: 'Never',
      automountServiceAccountToken: false,
      initContainers: [
        {
          name: 'fetch-artifact',
          image: o.image,
          command: [
            'wharf',
            'fetch-artifact',
            '--url',
            `${o.registryUrl.replace(/\/+$/, '')}/api/v1/blobs/${task.model.digest}`,
            '--digest',
            task.model.digest,
            '--out',
            MODEL_FILE,
          ],
          ...(o.pullTokenSecret === ''
            ? {}
            : {
                env: [
                  { name: 'WHARF_PULL_TOKEN', valueFrom: { secretKeyRef: { name: o.pullTokenSecret, key: 'token' } } },
                ],
              }),
          volumeMounts: [{ name: 'models', mountPath: '/models' }],
          securityContext: restricted,
        },
      ],
      containers: [
        {
          name: 'worker',
          image: o.image,
          command: ['wharf', 'job-worker', '--task', `${TASK_MOUNT}/task-$(JOB_COMPLETION_INDEX).json`],
          env: [
            {
              name: 'JOB_COMPLETION_INDEX',
              valueFrom: {
                fieldRef: { fieldPath: "metadata.annotations['batch.kubernetes.io/job-completion-index']" },
              },
            },
          ],
          volumeMounts: [
            { name: 'tasks', mountPath: TASK_MOUNT, readOnly: true },
            { name: 'models', mountPath: '/models', readOnly: true },
            { name: 'work', mountPath: WORK_MOUNT },
            { name: 'tmp', mountPath: '/tmp' },
          ],
          resources: { requests: { cpu: '1', memory: '256Mi' }, limits: { memory: '512Mi' } },
          securityContext: restricted,
        },
      ],
      volumes: [
        { name: 'tasks', configMap: { name: `${base}-tasks` } },
        { name: 'models', emptyDir: {} },
        { name: 'work', emptyDir: {} },
        { name: 'tmp', emptyDir: {} },
      ],
    },
  };
  const jobSpec = {
    completionMode: 'Indexed',
    completions: shards,
    parallelism: shards,
    backoffLimitPerIndex: options.retriesPerIndex ?? 3,
    template: pod,
  };
  const s = options.schedule;
  if (s === undefined)
    return [
      configMap,
      { apiVersion: 'batch/v1', kind: 'Job', metadata: { name: base, namespace, labels }, spec: jobSpec },
    ];
  return [
    configMap,
    {
      apiVersion: 'batch/v1',
      kind: 'CronJob',
      metadata: { name: base, namespace, labels },
      spec: {
        schedule: s.cron,
        timeZone: s.timezone,
        concurrencyPolicy: s.concurrencyPolicy,
        successfulJobsHistoryLimit: s.historyLimit,
        failedJobsHistoryLimit: s.historyLimit,
        jobTemplate: { metadata: { labels }, spec: jobSpec },
      },
    },
  ];
}
