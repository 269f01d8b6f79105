/** Settings of the Kubernetes runtime, with every default declared in one place. */
import type { SecretVersionReader } from '../runtime.js';
import { InvalidArgumentError } from '../../core/errors.js';
import type { ManifestOptions } from '../manifests/manifest-options.js';
import type { KubeClient } from './kube-client.js';

/** A namespace's new pull token and when it stops working. */
export type PullTokenSource = (namespace: string) => Promise<{ token: string; expiresAt: Date }>;

/** Options of {@link KubernetesRuntime}. */
export interface KubernetesRuntimeOptions {
  /** The API client (see `loadKubeConfig`). */
  readonly client: KubeClient;
  /** Rendering settings: Wharf image, registry URL pods download from, owner label, port, shutdown delays. */
  readonly manifests: ManifestOptions;
  /**
   * Reads a secret version's items for `secretEnv` refs that pin a version: the engine writes them
   * to the Secret `<secret>-v<version>` the pod's `secretKeyRef` names. Without it, such refs are refused.
   */
  readonly readSecretVersion?: SecretVersionReader;
  /**
   * Mints the pull token of a namespace: a scoped, expiring API token the artifact init container
   * sends when it downloads a model (the registry needs a credential). The engine keeps it in the
   * namespace's Secret `wharf-pull-token` and mints a new one before the old one expires. Without
   * it, pods download without a credential (a registry with authentication off).
   */
  readonly pullToken?: PullTokenSource;
  /** Namespace per environment; unlisted environments use `namespacePrefix + environment`. */
  readonly namespaces?: Readonly<Record<string, string>>;
  /** Default `wharf-`, so `production` runs in `wharf-production`. */
  readonly namespacePrefix?: string;
  /**
   * What replica endpoints point at: `pod` (pod IP and container port: the gateway balances over
   * pods, in the cluster) or `service` (every replica reports its revision Service's cluster DNS
   * name, for gateways that should leave balancing to kube-proxy or a mesh).
   */
  readonly endpoints?: 'pod' | 'service';
  /** Cluster DNS suffix for `endpoints: 'service'`. */
  readonly clusterDomain?: string;
  /** Longest `remove()` waits for a workload's pods to be gone. */
  readonly removeTimeoutMs?: number;
  /** Delay before re-listing after a dropped watch. */
  readonly rewatchDelayMs?: number;
}

/** The defaults. */
export const KUBERNETES_DEFAULTS = {
  namespacePrefix: 'wharf-',
  endpoints: 'pod',
  clusterDomain: 'cluster.local',
  removeTimeoutMs: 120_000,
  rewatchDelayMs: 200,
} as const;

/** Options with every default filled in. */
export interface ResolvedKubernetesOptions {
  readonly client: KubeClient;
  readonly manifests: ManifestOptions;
  readonly namespaceOf: (environment: string) => string;
  readonly endpoints: 'pod' | 'service';
  readonly clusterDomain: string;
  readonly removeTimeoutMs: number;
  readonly rewatchDelayMs: number;
}

const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** Fills in defaults; rejects namespace names Kubernetes would refuse. */
export function resolveKubernetesOptions(o: KubernetesRuntimeOptions): ResolvedKubernetesOptions {
  const prefix = o.namespacePrefix ?? KUBERNETES_DEFAULTS.namespacePrefix;
  for (const [env, ns] of Object.entries(o.namespaces ?? {})) {
    if (!DNS_LABEL.test(ns))
      throw new InvalidArgumentError(
        `namespaces.${env}: must be a DNS label (a namespace name), got ${JSON.stringify(ns)}`,
      );
  }
  if (prefix !== '' && !/^[a-z0-9][a-z0-9-]*$/.test(prefix))
    throw new InvalidArgumentError(
      `namespacePrefix: must be lowercase letters, digits and '-', got ${JSON.stringify(prefix)}`,
    );
  const endpoints = o.endpoints ?? KUBERNETES_DEFAULTS.endpoints;
  if (endpoints !== 'pod' && endpoints !== 'service')
    throw new InvalidArgumentError(`endpoints: must be 'pod' or 'service', got ${JSON.stringify(endpoints)}`);
  const removeTimeoutMs = o.removeTimeoutMs ?? KUBERNETES_DEFAULTS.removeTimeoutMs;
  if (!Number.isInteger(removeTimeoutMs) || removeTimeoutMs < 1)
    throw new InvalidArgumentError(`removeTimeoutMs: must be a positive integer, got ${removeTimeoutMs}`);
  return {
    client: o.client,
    manifests: o.manifests,
    namespaceOf: (environment) => {
      const ns = o.namespaces?.[environment] ?? `${prefix}${environment}`;
      if (!DNS_LABEL.test(ns))
        throw new InvalidArgumentError(
          `environment ${environment}: namespace ${JSON.stringify(ns)} is not a DNS label; set one in namespaces`,
        );
      return ns;
    },
    endpoints,
    clusterDomain: o.clusterDomain ?? KUBERNETES_DEFAULTS.clusterDomain,
    removeTimeoutMs,
    rewatchDelayMs: o.rewatchDelayMs ?? KUBERNETES_DEFAULTS.rewatchDelayMs,
  };
}
