/**
 * Compiles the gateway's routes from deployments and what the runtime runs. Pure: no I/O.
 *
 * When the rollout engine has written a traffic split (`status.rollout.traffic`), the route follows
 * it: one target per revision with its weight, plus header/cookie matches, the sticky key and the
 * mirror; a blue-green preview gets its own route, `/<environment>/<name>~preview`. Targets only
 * list ready replicas, so a revision that is not ready yet takes no traffic (its share goes to the
 * others). Without a split (a deployment the engine has not seen yet), the route has at most one
 * target, the serving revision:
 * - the current revision N once all its replicas are ready;
 * - before that, the newest older revision that still has ready replicas (replacement keeps
 *   serving the old revision until the new one is ready);
 * - with no older one, N itself as soon as any of its replicas is ready (a first deploy);
 * - otherwise no target: the gateway answers 503 for the deployment.
 * Backends are the serving revision's ready replicas with an endpoint, their ids prefixed with the
 * workload key (engines only promise replica ids unique per workload; the gateway needs them unique
 * across the table).
 *
 * Kinds: a worker never gets a route (it listens on no port); an application's routes say
 * `kind: application` and its `protocol`, and its mirror copies `strategy.shadow.methods` (default
 * GET and HEAD), see {@link withKind}. `modelOf` answers what an application revision runs too.
 *
 * Access: a deployment with `configuration.auth.required` gets `auth` on its routes (the preview
 * too), listing the API tokens allowed on it ({@link allowedTokens}: not revoked, not expired, scoped
 * `infer:<environment>` or `infer:<environment>/<name>`), id, hash and expiry only; one with
 * `configuration.rateLimit` gets its resolved `rateLimit`.
 */
import { mayScaleToZero, resolveScaling } from '../../core/autoscaling/scaling-spec.js';
import { deletionRequestedAt } from '../../core/deployment-identity.js';
import { resolveRateLimit } from '../../core/endpoint-access-spec.js';
import type { ApiToken, Deployment, ModelReference } from '../../core/resources.js';
import type { TrafficSplit } from '../../core/rollout/rollout-types.js';
import {
  DEFAULT_APPLICATION_MIRROR_METHODS,
  type Route,
  type RouteTarget,
  type RouteToken,
} from '../../protocol/route-table.js';
import { type WorkloadStatus, workloadKeyString } from '../../runtime/runtime.js';

/** The model a revision serves, or undefined when unknown. */
export type RevisionModel = (deploymentId: string, revision: number) => ModelReference | undefined;

/** What protected routes are compiled from: every API token, and the time (epoch ms) to judge expiry at. */
export interface TokenSource {
  readonly tokens: readonly Pick<ApiToken, 'id' | 'hash' | 'scopes' | 'expiresAt' | 'revokedAt'>[];
  readonly now: number;
}

/**
 * The tokens a protected deployment accepts, sorted by id: not revoked, not expired at `now`, with
 * scope `infer:<environment>` or `infer:<environment>/<deployment>`.
 */
export function allowedTokens(environment: string, deployment: string, source: TokenSource): RouteToken[] {
  const scopes = [`infer:${environment}`, `infer:${environment}/${deployment}`];
  return source.tokens
    .filter(
      (t) =>
        t.revokedAt === null &&
        (t.expiresAt === null || Date.parse(t.expiresAt) > source.now) &&
        t.scopes.some((s) => scopes.includes(s)),
    )
    .map((t) => ({ id: t.id, hash: t.hash, expiresAt: t.expiresAt }))
    .sort((a, b) => compare(a.id, b.id));
}

/** The workload of `deployment` that should receive its traffic, if any (see the module comment). */
export function servingWorkload(
  deployment: Pick<Deployment, 'revision'>,
  workloads: readonly WorkloadStatus[],
): WorkloadStatus | undefined {
  const current = workloads.find((w) => w.key.revision === deployment.revision);
  if (current !== undefined && current.desiredReplicas > 0 && current.readyReplicas >= current.desiredReplicas)
    return current;
  const older = workloads
    .filter((w) => w.key.revision !== deployment.revision && w.readyReplicas > 0)
    .sort((a, b) => b.key.revision - a.key.revision)[0];
  if (older !== undefined) return older;
  return current !== undefined && current.readyReplicas > 0 ? current : undefined;
}

/**
 * The routes for `deployments`, sorted by environment and name. `modelOf` gives the model and
 * version a revision serves; the model name on the wire is the deployment's name, which is what
 * its replicas serve the model as.
 */
export function compileRoutes(
  deployments: readonly Deployment[],
  workloads: readonly WorkloadStatus[],
  modelOf: RevisionModel,
  tokens: TokenSource = { tokens: [], now: Date.now() },
): Route[] {
  const byDeployment = new Map<string, WorkloadStatus[]>();
  for (const w of workloads) {
    const key = `${w.key.environment}\u0000${w.key.deployment}`;
    byDeployment.set(key, [...(byDeployment.get(key) ?? []), w]);
  }
  return deployments
    .filter((d) => deletionRequestedAt(d) === undefined && d.type !== 'worker')
    .sort((a, b) => (a.environment === b.environment ? compare(a.name, b.name) : compare(a.environment, b.environment)))
    .flatMap((d): Route[] => {
      const own = byDeployment.get(`${d.environment}\u0000${d.name}`) ?? [];
      const split = d.status.rollout?.traffic;
      if (split !== undefined && split.targets.length > 0)
        return splitRoutes(d, split, own, modelOf).map((r) => withAccess(d, withKind(d, r), tokens));
      const serving = servingWorkload(d, own);
      const model = serving === undefined ? undefined : modelOf(d.id, serving.key.revision);
      const targets: RouteTarget[] =
        serving === undefined || model === undefined
          ? []
          : [
              {
                revision: serving.key.revision,
                weight: 100,
                model: { name: d.name, version: model.version },
                backends: readyBackends(serving),
              },
            ];
      const route = withKind(d, withHold(d, { environment: d.environment, deployment: d.name, targets }));
      return [withAccess(d, route, tokens)];
    });
}

/**
 * An application's route says so (`kind`, `protocol`) and its mirror copies only the methods the
 * strategy marks safe to send twice (default GET and HEAD); a model's route is left as it was, with
 * `mirror.methods` only when the strategy names some.
 */
function withKind(d: Deployment, route: Route): Route {
  const methods = d.strategy.shadow?.methods?.map((m) => m.toUpperCase());
  const application = d.type === 'application';
  const mirror =
    route.mirror === undefined || (!application && methods === undefined)
      ? route.mirror
      : { ...route.mirror, methods: methods ?? [...DEFAULT_APPLICATION_MIRROR_METHODS] };
  if (!application) return mirror === route.mirror ? route : { ...route, mirror };
  const { environment, deployment, ...rest } = route;
  return {
    environment,
    deployment,
    kind: 'application',
    protocol: d.configuration.protocol ?? 'http',
    ...rest,
    ...(mirror === undefined ? {} : { mirror }),
  };
}

/** The route with the deployment's token check and rate limit, when it has them. */
function withAccess(d: Deployment, route: Route, tokens: TokenSource): Route {
  const { auth, rateLimit } = d.configuration;
  if (auth?.required !== true && rateLimit === undefined) return route;
  return {
    ...route,
    ...(auth?.required === true ? { auth: { tokens: allowedTokens(d.environment, d.name, tokens) } } : {}),
    ...(rateLimit === undefined ? {} : { rateLimit: resolveRateLimit(rateLimit) }),
  };
}

/** The route with the gateway's hold queue when the deployment may scale to zero. */
function withHold(d: Deployment, route: Route): Route {
  const { scaling } = d.configuration;
  if (!mayScaleToZero(scaling)) return route;
  const { hold } = resolveScaling(scaling);
  return { ...route, hold: { queue: hold.queue, timeoutMs: Math.round(hold.timeout * 1000) } };
}

/** Suffix of the preview route's name: `~` cannot occur in a deployment name (a DNS label). */
export const PREVIEW_SUFFIX = '~preview';

function splitRoutes(
  d: Deployment,
  split: TrafficSplit,
  workloads: readonly WorkloadStatus[],
  modelOf: RevisionModel,
): Route[] {
  const target = (revision: number, weight: number): RouteTarget | undefined => {
    const w = workloads.find((x) => x.key.revision === revision);
    const model = modelOf(d.id, revision);
    if (w === undefined || model === undefined) return undefined;
    return { revision, weight, model: { name: d.name, version: model.version }, backends: readyBackends(w) };
  };
  const needed = new Set<number>([
    ...(split.matches ?? []).map((m) => m.revision),
    ...(split.mirror === undefined ? [] : [split.mirror.revision]),
  ]);
  const targets = split.targets
    .filter((t) => t.weight > 0 || needed.has(t.revision))
    .map((t) => target(t.revision, t.weight))
    // A revision with no ready replica takes no traffic: leaving it out keeps tables (and their versions) stable.
    .filter((t): t is RouteTarget => t !== undefined && t.backends.length > 0);
  const present = new Set(targets.map((t) => t.revision));
  const route: Route = {
    environment: d.environment,
    deployment: d.name,
    targets,
    ...(split.matches === undefined
      ? {}
      : { matches: split.matches.filter((m) => present.has(m.revision)).map((m) => ({ ...m })) }),
    ...(split.sticky === undefined ? {} : { sticky: { ...split.sticky } }),
    ...(split.mirror === undefined || !present.has(split.mirror.revision) ? {} : { mirror: { ...split.mirror } }),
  };
  const routes = [withHold(d, route)];
  if (split.preview !== undefined) {
    const preview = target(split.preview, 100);
    if (preview !== undefined && preview.backends.length > 0)
      routes.push({ environment: d.environment, deployment: `${d.name}${PREVIEW_SUFFIX}`, targets: [preview] });
  }
  return routes;
}

function readyBackends(serving: WorkloadStatus): RouteTarget['backends'] {
  return serving.replicas
    .filter((r) => r.phase === 'ready' && r.endpoint !== undefined)
    .map((r) => ({ id: `${workloadKeyString(serving.key)}#${r.id}`, url: r.endpoint as string }))
    .sort((a, b) => compare(a.id, b.id));
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
