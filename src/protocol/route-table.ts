/**
 * The gateway's route table: compiled by the control plane from deployments and revisions, pushed
 * to every gateway over a watch stream, and swapped atomically. Plain data (JSON-serialisable) so
 * it crosses process boundaries as is; the gateway compiles it further into lookup structures.
 */

/** A replica that may receive traffic. Only ready replicas appear in a table. */
export interface Backend {
  readonly id: string;
  /** Base URL, e.g. http://127.0.0.1:41234 */
  readonly url: string;
}

/** One revision's share of a route. */
export interface RouteTarget {
  readonly revision: number;
  /** Relative weight (0–100); targets of a route sum to 100 when any has traffic. */
  readonly weight: number;
  /**
   * The registry model and version this revision runs, for metrics and headers. Replicas serve the
   * model under the deployment's name, so the gateway forwards protocol paths unchanged. For an
   * application: the deployment's name and what the revision runs (its bundle's version, else its
   * image, else `revision-<n>`).
   */
  readonly model: { readonly name: string; readonly version: string };
  readonly backends: readonly Backend[];
}

/**
 * A rule that sends matching requests to one revision before the weighted split (A/B tests by
 * header or cookie). Exactly one of `header` and `cookie` is set; names compare case-insensitively
 * for headers and exactly for cookies; values compare exactly (a cookie value without its
 * surrounding double quotes, not percent-decoded). A rule whose revision has no ready replica is
 * skipped, so its requests take the weighted split.
 */
export interface RouteMatch {
  readonly header?: { readonly name: string; readonly value: string };
  readonly cookie?: { readonly name: string; readonly value: string };
  /** A revision of one of the route's targets (its backends serve the matched requests). */
  readonly revision: number;
}

/**
 * Sticky assignment: requests carrying the same key value get the same target as long as the
 * weights stay the same (the key is hashed onto the cumulative weights instead of a random
 * number). Requests without the key (or with an empty one) get the split. Exactly one of `header`
 * and `cookie`. With two targets, raising the second one's weight moves keys only from the first
 * to the second, so list a canary after its stable revision.
 */
export interface RouteSticky {
  readonly header?: string;
  readonly cookie?: string;
}

/**
 * Mirroring (shadow releases): a copy of `percent`% of the requests that the route serves is sent to
 * `revision` (a target of the route, usually with weight 0). The caller only ever gets the primary's
 * response; the mirror's response is discarded after being compared with it (see GatewaySnapshot).
 * Gateways mirror only the requests whose method is in `methods`, send no copy of a request whose
 * own target is `revision`, and mirror nothing while `revision` has no ready replica.
 */
export interface RouteMirror {
  readonly revision: number;
  /** 0–100. */
  readonly percent: number;
  /** Two numeric output elements agree when they differ by at most this (default 1e-6). */
  readonly tolerance?: number;
  /**
   * Upper-case HTTP methods that are copied: what is safe to send twice. Default: `POST` on model
   * routes (the inference calls; GETs are health and metadata, which differ between revisions by
   * design), {@link DEFAULT_APPLICATION_MIRROR_METHODS} on application routes.
   */
  readonly methods?: readonly string[];
}

/** What an application route mirrors unless told otherwise: the methods that change nothing. */
export const DEFAULT_APPLICATION_MIRROR_METHODS: readonly string[] = ['GET', 'HEAD'];

/**
 * What a route fronts. `model`: Wharf's model servers (Open Inference Protocol; a fixed set of
 * request headers forwarded, bodies buffered so a failed attempt can be retried). `application`:
 * any HTTP service (every method, every end-to-end header plus `X-Forwarded-*`, streamed bodies,
 * server-sent events, WebSocket upgrades, and a host name of its own; see the gateway's README).
 * Workers listen on no port and never get a route.
 */
export type RouteKind = 'model' | 'application';

/**
 * What the replicas speak, for the gateway's protocol-aware features (the shadow comparison):
 * `oip` compares inference outputs element by element, `http` compares status and body (bytes, or
 * JSON values). Default: `oip` for model routes, `http` for application routes.
 */
export type RouteProtocol = 'oip' | 'http';

/**
 * Scale from zero: while no target of the route has a backend, the gateway holds up to `queue`
 * requests for at most `timeoutMs` each (instead of answering 503 at once) and tells the control
 * plane that the deployment has demand (see `GatewayOptions.onHold`); held requests are forwarded,
 * in arrival order, as soon as a table gives the route a backend. A request that finds the queue
 * full, or waits past `timeoutMs`, gets 503 with `Retry-After` and a message saying which.
 */
export interface RouteHold {
  /** Most requests held at once for this route (1–10,000). */
  readonly queue: number;
  /** Longest a request is held, in ms (1–600,000). */
  readonly timeoutMs: number;
}

/**
 * Outlier ejection by responses (on top of the always-on ejection after connect failures): a
 * backend that answers `consecutiveErrors` 5xx or times out that many times in a row is taken
 * out of rotation for `baseEjectionMs` (doubling with each ejection in a row, capped at
 * `maxEjectionMs`), then admitted again; the first good answer resets its count. At most
 * `maxEjectedPercent` of a target's backends are out at once (never its last one).
 */
export interface RouteOutlierDetection {
  readonly consecutiveErrors: number;
  readonly baseEjectionMs: number;
  readonly maxEjectionMs: number;
  readonly maxEjectedPercent: number;
}

/**
 * A token the gateway accepts on a protected route: an API token (`wharf_<id>_<secret>`) that is
 * not revoked and whose scopes cover the route. Only the hex SHA-256 of the whole token string is
 * sent, never the secret; the gateway finds the entry by `id` and compares the hashes in constant time.
 */
export interface RouteToken {
  readonly id: string;
  /** Hex SHA-256 (64 lowercase hex digits) of the whole token string. */
  readonly hash: string;
  /** ISO time after which the gateway refuses it (checked per request); null = never. */
  readonly expiresAt: string | null;
}

/**
 * A protected endpoint: requests need `authorization: Bearer <token>` with one of `tokens` (401
 * without one, or with one that is unknown, wrong or expired; 403 with a valid token of another
 * route). The list may be empty: then nobody is let in.
 */
export interface RouteAuth {
  readonly tokens: readonly RouteToken[];
}

/**
 * A token bucket per caller: `burst` requests at once, refilled at `requestsPerSecond`; an empty
 * bucket answers 429 with `Retry-After`. `per: 'token'` keys buckets by the verified token id (the
 * client address when the request has none), `client` by the client address.
 */
export interface RouteRateLimit {
  readonly requestsPerSecond: number;
  readonly burst: number;
  readonly per: 'token' | 'client';
}

/** How requests for one deployment in one environment are routed. */
export interface Route {
  readonly environment: string;
  readonly deployment: string;
  /** Default `model`. */
  readonly kind?: RouteKind;
  /** Default: `oip` for models, `http` for applications (see {@link RouteProtocol}). */
  readonly protocol?: RouteProtocol;
  readonly targets: readonly RouteTarget[];
  /** First matching rule wins; requests matching none get the weighted split. */
  readonly matches?: readonly RouteMatch[];
  readonly sticky?: RouteSticky;
  readonly mirror?: RouteMirror;
  /** Present when the deployment may scale to zero. */
  readonly hold?: RouteHold;
  /** Default: the gateway's own (see `PROXY_DEFAULTS.outlierDetection`). */
  readonly outlierDetection?: RouteOutlierDetection;
  /** Present when the deployment requires a token. */
  readonly auth?: RouteAuth;
  /** Present when the deployment limits its callers' request rate. */
  readonly rateLimit?: RouteRateLimit;
}

/**
 * A complete table. Rules gateways rely on: `version` increases with every table and across
 * control-plane restarts and replicas (a gateway ignores a lower one); weights are relative; a
 * weighted target with no backends drops out and its share goes to the others (503 only when no
 * target has backends); backend URLs are origins (no path); names contain no '/'.
 */
export interface RouteTable {
  readonly version: number;
  readonly routes: readonly Route[];
}

/**
 * Host name of an application route (`<deployment>.<environment>.<domain>`, lower case): the gateway
 * also serves it there, the whole path forwarded. With the default domain `localhost`, clients
 * resolve it to the loopback address with no DNS (RFC 6761).
 *
 * @example routeHost('production', 'api', 'localhost') === 'api.production.localhost'
 */
export function routeHost(environment: string, deployment: string, domain: string): string {
  return `${deployment}.${environment}.${domain}`.toLowerCase();
}

/** The domain of application host names unless `wharf up --domain` says otherwise. */
export const DEFAULT_ROUTE_DOMAIN = 'localhost';

/**
 * External URL scheme: `/<environment>/<deployment>/v2/models/<deployment>/infer` etc. — the Open
 * Inference Protocol paths under a per-deployment base, so clients keep using the standard paths.
 */
export function routeBasePath(environment: string, deployment: string): string {
  return `/${encodeURIComponent(environment)}/${encodeURIComponent(deployment)}`;
}
