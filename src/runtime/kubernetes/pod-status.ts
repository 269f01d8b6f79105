/**
 * Deployment and Pod status → {@link WorkloadStatus}. Pure, and table-tested.
 *
 * A pod that will not become ready by waiting — CrashLoopBackOff, OOMKilled, image pull errors, a
 * missing secret or config map — makes the workload's `CrashLoop` condition True with the pod's
 * reason and message (the deployment reconciler marks the revision failed on it, exactly as with
 * the local engine). Timestamps may arrive as Date objects (the client's deserializer) or strings.
 */
import type { Condition, ReplicaStatus, WorkloadKey, WorkloadStatus } from '../runtime.js';

/** The parts of a Pod this module reads. */
export interface PodLike {
  metadata?: { name?: string; deletionTimestamp?: unknown; creationTimestamp?: unknown };
  status?: {
    phase?: string;
    podIP?: string;
    startTime?: unknown;
    reason?: string;
    message?: string;
    conditions?: { type: string; status: string; lastTransitionTime?: unknown }[];
    containerStatuses?: ContainerStatusLike[];
    initContainerStatuses?: ContainerStatusLike[];
  };
}

interface ContainerStatusLike {
  name: string;
  ready?: boolean;
  restartCount?: number;
  started?: boolean;
  state?: {
    waiting?: { reason?: string; message?: string };
    running?: { startedAt?: unknown };
    terminated?: { reason?: string; exitCode?: number; message?: string };
  };
  lastState?: { terminated?: { reason?: string; exitCode?: number; finishedAt?: unknown; message?: string } };
}

/** The parts of a Deployment this module reads. */
export interface DeploymentLike {
  metadata?: { creationTimestamp?: unknown; generation?: number };
  spec?: { replicas?: number };
  status?: {
    replicas?: number;
    readyReplicas?: number;
    observedGeneration?: number;
    conditions?: { type: string; status: string; reason?: string; message?: string; lastTransitionTime?: unknown }[];
  };
}

/** Waiting reasons after which a container will not start by itself. */
const STUCK = new Set([
  'CrashLoopBackOff',
  'ErrImagePull',
  'ImagePullBackOff',
  'InvalidImageName',
  'CreateContainerConfigError',
  'CreateContainerError',
  'RunContainerError',
]);

/** How replica endpoints are formed from a pod. */
export type EndpointOf = (pod: PodLike) => string | undefined;

/** The status of `key` from its Deployment and the pods its selector matches. */
export function workloadStatus(
  key: WorkloadKey,
  deployment: DeploymentLike,
  pods: readonly PodLike[],
  endpointOf: EndpointOf,
  now: string,
): WorkloadStatus {
  const replicas = [...pods]
    .sort((a, b) => iso(a.metadata?.creationTimestamp).localeCompare(iso(b.metadata?.creationTimestamp)))
    .map((p) => replicaStatus(p, endpointOf));
  const desired = deployment.spec?.replicas ?? deployment.status?.replicas ?? 0;
  const ready = replicas.filter((r) => r.phase === 'ready').length;
  const since = iso(deployment.metadata?.creationTimestamp) || now;
  const conditions: Condition[] = [
    {
      type: 'Available',
      status: ready >= desired ? 'True' : 'False',
      reason: ready >= desired ? 'MinimumReplicasAvailable' : 'MinimumReplicasUnavailable',
      message: `${ready} of ${desired} replicas ready`,
      lastTransitionTime:
        iso(deployment.status?.conditions?.find((c) => c.type === 'Available')?.lastTransitionTime) || since,
    },
  ];
  const stuck = pods.map(stuckReason).find((s) => s !== undefined);
  if (stuck)
    conditions.push({
      type: 'CrashLoop',
      status: 'True',
      reason: stuck.reason,
      message: stuck.message,
      lastTransitionTime: stuck.at || now,
    });
  const progressing = deployment.status?.conditions?.find((c) => c.type === 'Progressing' && c.status === 'False');
  if (progressing) {
    conditions.push({
      type: 'Progressing',
      status: 'False',
      reason: progressing.reason ?? 'Unknown',
      message: progressing.message ?? '',
      lastTransitionTime: iso(progressing.lastTransitionTime) || now,
    });
  }
  return { key, desiredReplicas: desired, readyReplicas: ready, replicas, conditions };
}

/** One pod as a replica. */
export function replicaStatus(pod: PodLike, endpointOf: EndpointOf): ReplicaStatus {
  const containers = pod.status?.containerStatuses ?? [];
  const restarts = [...containers, ...(pod.status?.initContainerStatuses ?? [])].reduce(
    (n, c) => n + (c.restartCount ?? 0),
    0,
  );
  const ready = pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
  const stuck = stuckReason(pod);
  let phase: ReplicaStatus['phase'];
  if (pod.metadata?.deletionTimestamp) phase = 'stopping';
  else if (stuck || pod.status?.phase === 'Failed' || pod.status?.phase === 'Succeeded') phase = 'crashed';
  else if (ready) phase = 'ready';
  else if (containers.some((c) => c.restartCount && c.state?.running)) phase = 'unready';
  else phase = 'starting';
  const startedAt = iso(pod.status?.startTime);
  const endpoint = pod.status?.podIP && containers.some((c) => c.state?.running) ? endpointOf(pod) : undefined;
  return {
    id: pod.metadata?.name ?? '',
    ...(endpoint ? { endpoint } : {}),
    phase,
    restarts,
    ...(stuck ? { message: stuck.message } : pod.status?.message ? { message: pod.status.message } : {}),
    ...(startedAt ? { startedAt } : {}),
  };
}

/** Why a pod will not become ready without a change, if it will not. */
export function stuckReason(pod: PodLike): { reason: string; message: string; at: string } | undefined {
  const name = pod.metadata?.name ?? 'pod';
  if (pod.status?.phase === 'Failed')
    return {
      reason: pod.status.reason ?? 'PodFailed',
      message: `pod ${name} failed: ${pod.status.message ?? pod.status.reason ?? 'unknown reason'}`,
      at: '',
    };
  for (const c of [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])]) {
    const waiting = c.state?.waiting;
    const last = c.lastState?.terminated ?? c.state?.terminated;
    const at = iso(c.lastState?.terminated?.finishedAt);
    if (last?.reason === 'OOMKilled') {
      return {
        reason: 'OOMKilled',
        message: `pod ${name} container ${c.name} was killed for using more memory than its limit (exit ${last.exitCode ?? 137}, ${c.restartCount ?? 0} restarts)`,
        at,
      };
    }
    if (waiting?.reason && STUCK.has(waiting.reason)) {
      const lastExit = last ? `; last exit: ${last.reason ?? 'Error'} (code ${last.exitCode ?? '?'})` : '';
      return {
        reason: waiting.reason,
        message: `pod ${name} container ${c.name}: ${waiting.reason}${waiting.message ? `: ${waiting.message}` : ''}${lastExit}`,
        at,
      };
    }
  }
  return undefined;
}

/** An ISO-8601 string from a Date or string; '' when absent. */
export function iso(value: unknown): string {
  if (value instanceof Date) return value.toISOString();
  return typeof value === 'string' ? value : '';
}
