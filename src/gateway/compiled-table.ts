/**
 * Compiles a {@link RouteTable} into what the request path reads: a Map from the external prefix
 * `/<environment>/<deployment>` to a route whose targets carry precomputed cumulative weights,
 * their live backends (pool + balancer state) and their metric objects. Everything that can be
 * decided once per table is decided here, so a request on a plain route costs one Map lookup, one
 * step of the split sequence and two random numbers for the replica. Rollout rules (header and
 * cookie matches, the sticky key, the mirror) are resolved to targets here too; see route-choice.ts.
 * Each route is also given its request filters and response observers (route-pipeline.ts), only
 * those it needs, by the gateway's composer (route-composer.ts).
 *
 * External URL: `<gateway>/<environment>/<deployment>` + an Open Inference Protocol path, e.g.
 * `/production/readmission/v2/models/readmission/infer`. The remainder after the prefix is
 * forwarded unchanged: replicas serve the model under the deployment's name. Application routes
 * are found by host name too (`hosts`; route-lookup.ts finds a request's route).
 */
import type { Assignment } from './assignment-log.js';
import type { GatewayMetrics, StatsScope } from './metrics.js';
import type { RouteStats, ShadowStats, TargetStats } from './request-stats.js';
import { OUTLIER_DEFAULTS } from './outlier-detection.js';
import { compileRules, type RouteRules } from './route-choice.js';
import type { RouteFeatures } from './route-composer.js';
import type { RoutePipeline } from './route-pipeline.js';
import {
  DEFAULT_APPLICATION_MIRROR_METHODS,
  DEFAULT_ROUTE_DOMAIN,
  type Route,
  type RouteHold,
  type RouteProtocol,
  type RouteOutlierDetection,
  type RouteTable,
  routeBasePath,
  routeHost,
} from '../protocol/route-table.js';
import { parseRouteTable } from './table-validation.js';
import { TokenDirectory } from './token-check.js';
import type { UpstreamBackend, UpstreamPools } from './upstream-pool.js';

/** Default `RouteMirror.tolerance`: two numeric output elements agree within this. */
export const DEFAULT_TOLERANCE = 1e-6;

/** One revision's share of a route, ready for the request path. */
export interface CompiledTarget {
  readonly revision: number;
  /** `String(revision)`, for the `x-wharf-revision` response header. */
  readonly revisionText: string;
  readonly backends: readonly UpstreamBackend[];
  readonly stats: TargetStats;
  /** What `GatewayServer.assignment` answers for a request routed here (one shared object). */
  readonly assignment: Assignment;
}

/** A route's mirror, resolved: only present when its revision has backends and `percent` > 0. */
export interface CompiledMirror {
  /** Methods copied (see `RouteMirror.methods`). */
  readonly methods: ReadonlySet<string>;
  /** How the pair is compared: inference outputs (`oip`) or status and body (`http`). */
  readonly protocol: RouteProtocol;
  /** The mirrored revision (often weight 0, so not among the route's weighted targets). */
  readonly target: CompiledTarget;
  /** `percent / 100`: the share of requests copied. */
  readonly fraction: number;
  /** Numeric output elements agree when they differ by at most this. */
  readonly tolerance: number;
  readonly stats: ShadowStats;
}

/** One route, ready for the request path. */
export interface CompiledRoute {
  readonly environment: string;
  readonly deployment: string;
  /** `/<environment>/<deployment>` as in the table (percent-encoded). */
  readonly prefix: string;
  /** An application's route (every header forwarded, with `X-Forwarded-*`; bodies streamed; upgrades). */
  readonly application: boolean;
  /** Has a token check (`auth`): the client's `Authorization` is the gateway's, not forwarded to an application. */
  readonly protectedRoute: boolean;
  /**
   * Targets that can take traffic: weight > 0 and at least one ready backend. A target with weight
   * but no replica drops out, and its share goes to the others in proportion to their weights.
   */
  readonly targets: readonly CompiledTarget[];
  /** cumulative[i] = sum of weights of targets[0..i]. */
  readonly cumulative: readonly number[];
  readonly totalWeight: number;
  /** Message of the 503 sent when `targets` is empty. */
  readonly noReplicaMessage: string;
  /** Scale from zero: hold requests while no target has a backend; undefined = answer 503 at once. */
  readonly hold: RouteHold | undefined;
  /** Messages of the hold's 503s: queue full, and held past `hold.timeoutMs`. */
  readonly holdFullMessage: string;
  readonly holdTimeoutMessage: string;
  /** The route's outlier detection, or the gateway's default. */
  readonly outlier: RouteOutlierDetection;
  /** Stats for requests that got no target (revision ""). */
  readonly unassigned: TargetStats;
  readonly routeStats: RouteStats;
  /** Header/cookie matches and the sticky key; undefined when the route has neither (the plain split). */
  readonly rules: RouteRules | undefined;
  readonly mirror: CompiledMirror | undefined;
  /**
   * Whether assignments are logged for A/B attribution: the route has rules or splits between two
   * or more targets. A plain one-target route skips the log (its answer is implied by the table).
   */
  readonly logsAssignments: boolean;
  /** The route's request filters and response observers, composed from the fields above. */
  readonly pipeline: RoutePipeline;
  /**
   * Position in [0, 1) of the split sequence (see `chooseTarget`): the one piece of per-request
   * state on a compiled route, written by the request path.
   */
  splitCursor: number;
}

/** A compiled table: immutable once built; the gateway swaps whole tables. */
export interface CompiledTable {
  readonly version: number;
  readonly routes: ReadonlyMap<string, CompiledRoute>;
  /** Application routes by host name (`<deployment>.<environment>.<domain>`, lower case, no port). */
  readonly hosts: ReadonlyMap<string, CompiledRoute>;
}

/** A compiled table that is not in use yet: install `table`, then call `commit()` at once. */
export interface PreparedTable {
  readonly table: CompiledTable;
  /** Retires backends the new table dropped and publishes its metric set. */
  commit(): void;
}

/** Gateway-wide settings that routes may override. */
export interface CompileDefaults {
  /** For routes without `outlierDetection`. */
  readonly outlierDetection: RouteOutlierDetection;
  /** Application routes are also served at `<deployment>.<environment>.<domain>`. */
  readonly domain?: string;
}

/** Gives a route its filters and observers (the gateway's `RouteComposer.compose`). */
export type ComposeRoute = (features: RouteFeatures) => RoutePipeline;

/**
 * Validates and compiles `table`, creating pools for new backends and reusing the pools and
 * balancer state of backends that are still present. Nothing in use changes until `commit()`.
 *
 * @throws InvalidArgumentError when the table breaks a rule (see {@link parseRouteTable}).
 */
export function compileTable(
  input: RouteTable,
  pools: UpstreamPools,
  metrics: GatewayMetrics,
  compose: ComposeRoute,
  defaults: CompileDefaults = { outlierDetection: OUTLIER_DEFAULTS },
): PreparedTable {
  const table = parseRouteTable(input);
  const backends = pools.prepare(table.routes.flatMap((r) => r.targets.flatMap((t) => t.backends)));
  try {
    const scope = metrics.beginTable();
    const routes = new Map<string, CompiledRoute>();
    const hosts = new Map<string, CompiledRoute>();
    // Stats may be in use (carried over from the table in use): their backend lists change at commit.
    const backendLists: [TargetStats, readonly UpstreamBackend[]][] = [];
    const access: [RouteStats, Route][] = [];
    // Every token of the table, read at request time (so filled before the first request, not per route).
    const tokens = new TokenDirectory();
    for (const route of table.routes) if (route.auth !== undefined) tokens.add(route.auth);
    for (const route of table.routes) {
      const { environment, deployment } = route;
      // One compiled target per revision with replicas, shared by the split, the matches and the mirror.
      const byRevision = new Map<number, CompiledTarget>();
      const targets: CompiledTarget[] = [];
      const cumulative: number[] = [];
      let total = 0;
      for (const t of route.targets) {
        // Stats exist for every revision in the table, so a revision without traffic still shows.
        const stats = scope.target(environment, deployment, t.revision);
        if (t.backends.length === 0) {
          backendLists.push([stats, []]);
          continue;
        }
        const compiled: CompiledTarget = {
          revision: t.revision,
          revisionText: String(t.revision),
          backends: t.backends.map((b) => backends.get(b.id)!),
          stats,
          assignment: Object.freeze({ environment, deployment, revision: t.revision }),
        };
        byRevision.set(t.revision, compiled);
        backendLists.push([stats, compiled.backends]);
        if (t.weight <= 0) continue;
        total += t.weight;
        cumulative.push(total);
        targets.push(compiled);
      }
      const prefix = routeBasePath(environment, deployment);
      const application = route.kind === 'application';
      const rules = compileRules(route, byRevision);
      const starting = `deployment '${deployment}' in environment '${environment}' is scaled to zero and starting`;
      const features: RouteFeatures = {
        hold: route.hold,
        mirror: compileMirror(route, byRevision, scope),
        logsAssignments: rules !== undefined || targets.length >= 2,
        access: { prefix, environment, deployment, auth: route.auth, tokens, rateLimit: route.rateLimit },
      };
      const routeStats = scope.route(environment, deployment);
      access.push([routeStats, route]);
      const compiled: CompiledRoute = {
        environment,
        deployment,
        prefix,
        application,
        protectedRoute: route.auth !== undefined,
        targets,
        cumulative,
        totalWeight: total,
        noReplicaMessage: `no ready replica for deployment '${deployment}' in environment '${environment}'`,
        holdFullMessage: `${starting}; the hold queue is full (${route.hold?.queue ?? 0} requests)`,
        holdTimeoutMessage: `${starting}; it did not get a ready replica within ${(route.hold?.timeoutMs ?? 0) / 1000} s`,
        outlier: route.outlierDetection ?? defaults.outlierDetection,
        unassigned: scope.target(environment, deployment, ''),
        routeStats,
        rules,
        hold: features.hold,
        mirror: features.mirror,
        logsAssignments: features.logsAssignments,
        pipeline: compose(features),
        splitCursor: Math.random(),
      };
      routes.set(prefix, compiled);
      // A preview (`name~preview`) has no host name: `~` is not allowed in one.
      if (application && !deployment.includes('~'))
        hosts.set(routeHost(environment, deployment, defaults.domain ?? DEFAULT_ROUTE_DOMAIN), compiled);
    }
    return {
      table: { version: table.version, routes, hosts },
      commit: () => {
        pools.commit(backends);
        for (const [stats, list] of backendLists) stats.backends = list;
        for (const [stats, route] of access) {
          stats.protectedRoute = route.auth !== undefined;
          stats.limitedRoute = route.rateLimit !== undefined;
        }
        scope.commit(table.version);
      },
    };
  } catch (err) {
    pools.abandon(backends);
    throw err;
  }
}

/** Stats exist whenever the table names a mirror (zeros included); copies go out only when it can take them. */
function compileMirror(
  route: Route,
  byRevision: ReadonlyMap<number, CompiledTarget>,
  scope: StatsScope,
): CompiledMirror | undefined {
  const mirror = route.mirror;
  if (mirror === undefined) return undefined;
  const stats = scope.shadow(route.environment, route.deployment, mirror.revision);
  const target = byRevision.get(mirror.revision);
  if (target === undefined || mirror.percent <= 0) return undefined;
  const application = route.kind === 'application';
  return {
    target,
    fraction: mirror.percent / 100,
    tolerance: mirror.tolerance ?? DEFAULT_TOLERANCE,
    stats,
    methods: new Set(mirror.methods ?? (application ? DEFAULT_APPLICATION_MIRROR_METHODS : ['POST'])),
    protocol: route.protocol ?? (application ? 'http' : 'oip'),
  };
}
