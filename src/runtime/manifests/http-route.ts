/**
 * A Gateway API `HTTPRoute` for one deployment's route, for clusters that route with a mesh or a
 * Gateway controller instead of (or in front of) Wharf's gateway. Pure.
 *
 * What maps: the weighted split (one backendRef per revision Service, with its weight), header
 * matches (a rule per match, ahead of the split), and a mirror of every request to one revision
 * (`RequestMirror`). What Gateway API v1 cannot say, and so only Wharf's gateway does: cookie
 * matches, sticky assignment, mirroring a percentage, and comparing mirrored responses.
 */
import { deploymentLabels, dnsLabel, revisionName } from './labels.js';

/** The parts of a gateway route this renders (structurally a `Route` of the route table). */
export interface RouteSource {
  readonly environment: string;
  readonly deployment: string;
  /**
   * What the route fronts (`model`, `application`; the route table's own field). An application
   * also gets `X-Forwarded-Prefix` (the prefix stripped), as from Wharf's gateway. `worker`: no
   * HTTPRoute at all (a worker has no Service; the route table gives workers no route either).
   */
  readonly kind?: string;
  readonly targets: readonly { readonly revision: number; readonly weight: number }[];
  readonly matches?: readonly {
    readonly header?: { readonly name: string; readonly value: string };
    readonly revision: number;
  }[];
  readonly mirror?: { readonly revision: number; readonly percent: number };
}

/** Where the route attaches. */
export interface HttpRouteOptions {
  readonly namespace: string;
  /** The Gateway (`parentRefs`) the route attaches to. */
  readonly parentGateway: string;
  readonly parentNamespace?: string;
  readonly hostname?: string;
  readonly owner: string;
}

/** The HTTPRoute of `route`: requests under `/<environment>/<deployment>` go to the revision Services. */
export function renderHttpRoute(route: RouteSource, o: HttpRouteOptions): Record<string, unknown> {
  const key = { environment: route.environment, deployment: route.deployment };
  const prefix = `/${route.environment}/${route.deployment}`;
  const backend = (revision: number, weight?: number): Record<string, unknown> => ({
    name: revisionName({ deployment: route.deployment, revision }),
    port: 80,
    ...(weight === undefined ? {} : { weight }),
  });
  // The model servers serve the protocol paths at their root, as behind Wharf's gateway.
  const rewrite = { type: 'URLRewrite', urlRewrite: { path: { type: 'ReplacePrefixMatch', replacePrefixMatch: '/' } } };
  const forwarded =
    route.kind === 'application'
      ? [
          {
            type: 'RequestHeaderModifier',
            requestHeaderModifier: { set: [{ name: 'X-Forwarded-Prefix', value: prefix }] },
          },
        ]
      : [];
  const mirror =
    route.mirror && route.mirror.percent >= 100
      ? [{ type: 'RequestMirror', requestMirror: { backendRef: backend(route.mirror.revision) } }]
      : [];
  const headerRules = (route.matches ?? [])
    .filter((m) => m.header)
    .map((m) => ({
      matches: [
        {
          path: { type: 'PathPrefix', value: prefix },
          headers: [{ type: 'Exact', name: m.header!.name, value: m.header!.value }],
        },
      ],
      filters: [rewrite, ...forwarded],
      backendRefs: [backend(m.revision, 1)],
    }));
  const targets = route.targets.filter((t) => t.weight > 0);
  return {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'HTTPRoute',
    metadata: { name: dnsLabel(route.deployment), namespace: o.namespace, labels: deploymentLabels(key, o.owner) },
    spec: {
      parentRefs: [{ name: o.parentGateway, ...(o.parentNamespace ? { namespace: o.parentNamespace } : {}) }],
      ...(o.hostname ? { hostnames: [o.hostname] } : {}),
      rules: [
        ...headerRules,
        {
          matches: [{ path: { type: 'PathPrefix', value: prefix } }],
          filters: [rewrite, ...forwarded, ...mirror],
          backendRefs: (targets.length > 0 ? targets : route.targets.slice(0, 1)).map((t) =>
            backend(t.revision, t.weight),
          ),
        },
      ],
    },
  };
}
