/**
 * Parses Open Inference Protocol paths into routes. Hand-written because the route set is fixed
 * and tiny, and the gateway-facing hot path should not pay for a general router.
 */
import { OIP_MODELS_PREFIX, OIP_PATHS } from '../protocol/oip-paths.js';

const SERVER_SLASH = `${OIP_PATHS.server}/`;

/** A recognised path, with the methods it accepts. */
export type Route = { kind: 'live' | 'ready' | 'server-metadata' | 'metrics' } | ModelRoute;

/** A path under /v2/models/{model}[/versions/{version}]. */
export interface ModelRoute {
  kind: 'model-metadata' | 'model-ready' | 'infer';
  model: string;
  version: string | undefined;
}

/** Methods each kind of route accepts. */
export function allowedMethods(route: Route): readonly string[] {
  return route.kind === 'infer' ? ['POST'] : ['GET', 'HEAD'];
}

/** Returns the route for a request URL (path and optional query), or undefined for an unknown path. */
export function parseRoute(url: string): Route | undefined {
  const q = url.indexOf('?');
  const path = q === -1 ? url : url.slice(0, q);
  switch (path) {
    case OIP_PATHS.live:
      return { kind: 'live' };
    case OIP_PATHS.ready:
      return { kind: 'ready' };
    case OIP_PATHS.server:
    case SERVER_SLASH:
      return { kind: 'server-metadata' };
    case '/metrics':
      return { kind: 'metrics' };
  }
  if (!path.startsWith(OIP_MODELS_PREFIX)) return undefined;
  const parts = path.slice(OIP_MODELS_PREFIX.length).split('/');
  const model = decode(parts[0]);
  if (!model) return undefined;
  let version: string | undefined;
  let rest = parts.slice(1);
  if (rest[0] === 'versions') {
    version = decode(rest[1]);
    if (!version) return undefined;
    rest = rest.slice(2);
  }
  if (rest.length === 0) return { kind: 'model-metadata', model, version };
  if (rest.length === 1 && rest[0] === 'ready') return { kind: 'model-ready', model, version };
  if (rest.length === 1 && rest[0] === 'infer') return { kind: 'infer', model, version };
  return undefined;
}

function decode(segment: string | undefined): string | undefined {
  if (!segment) return undefined;
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}
