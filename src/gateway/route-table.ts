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

/** One revision's share of a route. Later issues add mirroring, header matches and stickiness. */
export interface RouteTarget {
  readonly revision: number;
  /** Relative weight (0–100); targets of a route sum to 100 when any has traffic. */
  readonly weight: number;
  /** The model name and version as the replicas serve it (the gateway rewrites paths to it). */
  readonly model: { readonly name: string; readonly version: string };
  readonly backends: readonly Backend[];
}

/** How requests for one deployment in one environment are routed. */
export interface Route {
  readonly environment: string;
  readonly deployment: string;
  readonly targets: readonly RouteTarget[];
}

/** A complete table; `version` increases with every table the control plane publishes. */
export interface RouteTable {
  readonly version: number;
  readonly routes: readonly Route[];
}

/**
 * External URL scheme: `/<environment>/<deployment>/v2/models/<deployment>/infer` etc. — the Open
 * Inference Protocol paths under a per-deployment base, so clients keep using the standard paths.
 */
export function routeBasePath(environment: string, deployment: string): string {
  return `/${encodeURIComponent(environment)}/${encodeURIComponent(deployment)}`;
}
