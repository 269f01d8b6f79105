/**
 * Which engines a control plane runs: always `local`; `kubernetes` too when asked for
 * (`--runtime kubernetes`, or a kubeconfig / context given so that environments whose binding is
 * `runtime: kubernetes` can use it). `--runtime X` makes X the engine of every environment.
 */
import { join } from 'node:path';
import { InvalidArgumentError } from '../core/errors.js';
import type { RuntimeBinding } from '../core/resources.js';
import type { RouteSource } from '../runtime/manifests/http-route.js';
import { HttpRoutePublisher } from '../runtime/kubernetes/http-route-publisher.js';
import { KubeClient, loadKubeConfig } from '../runtime/kubernetes/kube-client.js';
import type { PullTokenSource } from '../runtime/kubernetes/kubernetes-options.js';
import { KubernetesRuntime } from '../runtime/kubernetes/kubernetes-runtime.js';
import { LocalRuntime } from '../runtime/local/local-runtime.js';
import type { Runtime, SecretResolver, SecretVersionReader } from '../runtime/runtime.js';
import { NotFoundError as StoreNotFoundError } from '../store/errors.js';
import type { Store } from '../store/store.js';
import { RuntimeRouter } from '../runtime/runtime-router.js';

/** Runtime settings of `wharf up`. */
export interface RuntimeSettings {
  /** The engine of every environment; unset: each environment's own binding. */
  readonly runtime?: RuntimeBinding;
  readonly kubeconfig?: string;
  readonly context?: string;
  /** Namespace of each environment is `<prefix><environment>` (default `wharf-`)… */
  readonly namespacePrefix?: string;
  /** …unless named here, e.g. `{ production: 'ml-prod' }`. */
  readonly namespaces?: Readonly<Record<string, string>>;
  /** Where pods download artifacts from: this control plane's API as the cluster reaches it. */
  readonly registryUrl?: string;
  /** Image with the `wharf` command for model pods. */
  readonly image?: string;
  /** Image of applications and workers that have a bundle and no image (default: `image`). */
  readonly appBaseImage?: string;
  /** `[namespace/]name` of a Gateway: keep a Gateway API HTTPRoute per deployment in step with the route table. */
  readonly httpRouteGateway?: string;
}

/** The runtime of a control plane (a router over its engines) and how to start it. */
export interface SelectedRuntime {
  readonly runtime: Runtime;
  /** Locks the local state directory and adopts running replicas. */
  start(): Promise<void>;
  /** Set with `httpRouteGateway`: give it every route table the control plane publishes. */
  readonly onRoutes?: (routes: readonly RouteSource[]) => void;
}

/** Builds the engines for `settings`; throws InvalidArgumentError naming the option that is missing. */
export function selectRuntime(
  settings: RuntimeSettings,
  home: string,
  store: Store,
  log: (line: string) => void = () => undefined,
  /** Reads secret items for replicas' `secretEnv` (the secrets service; engines may not import services). */
  secrets: {
    resolveSecret?: SecretResolver;
    readSecretVersion?: SecretVersionReader;
    pullToken?: PullTokenSource;
  } = {},
): SelectedRuntime {
  const { resolveSecret, readSecretVersion, pullToken } = secrets;
  if (settings.runtime !== undefined && settings.runtime !== 'local' && settings.runtime !== 'kubernetes') {
    throw new InvalidArgumentError(`--runtime: must be local or kubernetes, got ${String(settings.runtime)}`);
  }
  const local = new LocalRuntime({
    stateDir: join(home, 'runtime'),
    ...(resolveSecret === undefined ? {} : { resolveSecret }),
  });
  const engines: Partial<Record<RuntimeBinding, Runtime>> = { local };
  let publisher: HttpRoutePublisher | undefined;
  if (settings.runtime === 'kubernetes' || settings.kubeconfig || settings.context) {
    if (!settings.registryUrl) {
      throw new InvalidArgumentError(
        '--registry-url: required with the kubernetes runtime: the URL model pods download artifacts from, e.g. http://wharf.wharf-system:8080',
      );
    }
    const client = new KubeClient(loadKubeConfig({ kubeconfig: settings.kubeconfig, context: settings.context }));
    const kubernetes = new KubernetesRuntime({
      client,
      manifests: {
        registryUrl: settings.registryUrl,
        ...(settings.image ? { image: settings.image } : {}),
        ...(settings.appBaseImage ? { appBaseImage: settings.appBaseImage } : {}),
      },
      namespacePrefix: settings.namespacePrefix,
      namespaces: settings.namespaces,
      ...(readSecretVersion === undefined ? {} : { readSecretVersion }),
      ...(pullToken === undefined ? {} : { pullToken }),
    });
    engines.kubernetes = kubernetes;
    if (settings.httpRouteGateway) {
      const [a, b] = settings.httpRouteGateway.split('/');
      publisher = new HttpRoutePublisher(client, {
        namespaceOf: (env) => kubernetes.namespaceOf(env),
        owner: 'wharf',
        ...(b === undefined ? { parentGateway: a! } : { parentGateway: b, parentNamespace: a }),
      });
    }
  }
  const bindingOf = async (environment: string): Promise<RuntimeBinding> => {
    try {
      return (await store.environments.get(environment)).runtime;
    } catch (err) {
      if (err instanceof StoreNotFoundError) return 'local'; // a stray workload of a deleted environment
      throw err;
    }
  };
  // A mesh or Gateway controller cannot check Wharf's tokens nor keep its rate limits: a protected
  // or limited deployment gets no HTTPRoute (an existing one is deleted), so it is reached only
  // through Wharf's gateway, which enforces both.
  const bypassed = new Set<string>();
  const enforceable = (r: RouteSource & { auth?: unknown; rateLimit?: unknown }): boolean => {
    const key = `${r.environment}/${r.deployment}`;
    const open = r.auth === undefined && r.rateLimit === undefined;
    if (!open && !bypassed.has(key))
      log(`http routes: ${key} is protected or rate-limited: no HTTPRoute, reach it through the Wharf gateway`);
    if (open) bypassed.delete(key);
    else bypassed.add(key);
    return open;
  };
  const onRoutes =
    publisher &&
    ((routes: readonly RouteSource[]): void => {
      void Promise.all(
        routes.map(async (r) =>
          enforceable(r) && (settings.runtime ?? (await bindingOf(r.environment))) === 'kubernetes' ? r : undefined,
        ),
      )
        .then((mine) => publisher.publish(mine.filter((r) => r !== undefined)))
        .catch((err: unknown) => log(`http routes: ${(err as Error).message}`));
    });
  return {
    runtime: new RuntimeRouter(engines, bindingOf, settings.runtime),
    start: () => local.start(),
    ...(onRoutes ? { onRoutes } : {}),
  };
}
