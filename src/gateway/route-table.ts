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
  /**
   * The registry model and version this revision runs, for metrics and headers. Replicas serve the
   * model under the deployment's name, so the gateway forwards protocol paths unchanged.
   */
  readonly model: { readonly name: string; readonly version: string };
  readonly backends: readonly Backend[];
}

/** How requests for one deployment in one environment are routed. */
export interface Route {
  readonly environment: string;
  readonly deployment: string;
  readonly targets: readonly RouteTarget[];
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
 * External URL scheme: `/<environment>/<deployment>/v2/models/<deployment>/infer` etc. — the Open
 * Inference Protocol paths under a per-deployment base, so clients keep using the standard paths.
 */
export function routeBasePath(environment: string, deployment: string): string {
  return `/${encodeURIComponent(environment)}/${encodeURIComponent(deployment)}`;
}
