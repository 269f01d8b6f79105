/**
 * The Kubernetes runtime: the {@link KubernetesEngine} (`kubernetes-engine.ts`: each revision a
 * Deployment with its Service, ConfigMap and optional HPA, written by server-side apply; `list`
 * from a list+watch cache) under the shared lifecycle wrapper (`../runtime-lifecycle.ts`: reject
 * after close, NotSupported), plus `namespaceOf` for the HTTPRoute publisher.
 *
 * @example
 *   const client = new KubeClient(loadKubeConfig({ context: 'prod' }));
 *   const runtime = new KubernetesRuntime({ client, manifests: { registryUrl: 'http://wharf.wharf-system:8080' } });
 *   await runtime.apply(workload);
 */
import { ManagedRuntime } from '../runtime-lifecycle.js';
import { KubernetesEngine } from './kubernetes-engine.js';
import type { KubernetesRuntimeOptions } from './kubernetes-options.js';

export type { KubernetesRuntimeOptions } from './kubernetes-options.js';

/** See the module comment. */
export class KubernetesRuntime extends ManagedRuntime<KubernetesEngine> {
  constructor(options: KubernetesRuntimeOptions) {
    super(new KubernetesEngine(options));
  }

  /** The namespace of `environment`'s workloads. */
  namespaceOf(environment: string): string {
    return this.engine.namespaceOf(environment);
  }
}
