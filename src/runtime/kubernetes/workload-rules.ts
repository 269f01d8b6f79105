/**
 * What the Kubernetes engine checks of a workload before rendering it, and what it reads back
 * from a Deployment it rendered. Pure.
 */
import { checkCommandWorkload } from '../manifests/app-container.js';
import { validateWorkload } from '../local/workload-spec.js';
import type { Workload } from '../runtime.js';
import type { KubeItem } from './kube-client.js';

/**
 * The local runtime's rules, then Kubernetes' own for command workloads (`checkCommandWorkload`).
 * A worker has no HTTP probe, so the local rule that a command workload names probe paths is
 * checked with placeholders: its paths are never used here.
 */
export function validateKubernetesWorkload(w: Workload): void {
  if (w.serves === 'none' && w.command)
    validateWorkload({
      ...w,
      readiness: { ...w.readiness, path: w.readiness?.path || '/' },
      liveness: { ...w.liveness, path: w.liveness?.path || '/' },
      ...(w.startup ? { startup: { ...w.startup, path: w.startup.path || '/' } } : {}),
    });
  else validateWorkload(w);
  if (w.command) checkCommandWorkload(w);
}

/** The container port named `http` of the Deployment's pod template, if any. */
export function httpPort(d: KubeItem): number | undefined {
  const containers = (
    d.spec as
      { template?: { spec?: { containers?: { ports?: { name?: string; containerPort: number }[] }[] } } } | undefined
  )?.template?.spec?.containers;
  return containers?.[0]?.ports?.find((p) => p.name === 'http')?.containerPort;
}
