/**
 * Which replicas' CPU counts towards a CPU-target decision. A replica that starts spends CPU
 * loading its model and warming up: counted as load, it makes an idle deployment scale itself up,
 * and each replica it adds feeds the next decision the same way. Like Kubernetes' HPA (which
 * ignores the CPU of pods that are not ready and of pods in their CPU initialization period), a
 * replica's CPU counts only once it is ready and has stayed ready for a grace period.
 *
 * Replicas not counted weigh 0 (as the HPA weighs unready pods when scaling up): they cannot scale
 * the deployment up or put it in panic mode; a scale-down they might suggest meanwhile is held by
 * the scale-down delay (minutes, against a grace of seconds). No counted replica: no sample.
 *
 * Times are the caller's clock (the autoscaler's), so "ready since" is when it first saw a
 * replica ready; after an autoscaler restart every replica waits one grace period again.
 *
 * @example
 *   tracked.readySince = readySince(tracked.readySince, replicas, now);
 *   const counted = countedCpuUsage(usage, tracked.readySince, now, CPU_STARTUP_GRACE_MS);
 */

/** Default grace after a replica is first seen ready (the HPA's initial readiness delay is 30 s). */
export const CPU_STARTUP_GRACE_MS = 30_000;

/** A replica as the runtime reports it; only `ready` counts as ready. */
export interface ReplicaPhase {
  readonly id: string;
  readonly phase: string;
}

/**
 * When each replica was first seen ready, carried over from `previous`; a replica not ready now
 * (starting, unready, restarting) or gone drops out, so it waits a full grace once ready again.
 */
export function readySince(
  previous: ReadonlyMap<string, number>,
  replicas: readonly ReplicaPhase[],
  now: number,
): Map<string, number> {
  const next = new Map<string, number>();
  for (const r of replicas) if (r.phase === 'ready') next.set(r.id, previous.get(r.id) ?? now);
  return next;
}

/** The samples of replicas ready for at least `graceMs` by `now`. */
export function countedCpuUsage<U extends { readonly replica: string }>(
  usage: readonly U[],
  since: ReadonlyMap<string, number>,
  now: number,
  graceMs: number,
): U[] {
  return usage.filter((u) => {
    const at = since.get(u.replica);
    return at !== undefined && now - at >= graceMs;
  });
}
