/**
 * Keeps one Gateway API HTTPRoute per deployment in step with Wharf's route table (weights of a
 * canary, header matches, a full mirror), for users who route with a mesh or a Gateway
 * controller. Server-side apply like everything else; a route whose rendering did not change is
 * not sent again, and the HTTPRoutes of deployments gone from the table are deleted (by the
 * ownership label, so nobody else's routes are touched). Workers are ignored (no Service, no route).
 *
 * @example
 *   const publisher = new HttpRoutePublisher(client, { namespaceOf, owner: 'wharf', parentGateway: 'mesh' });
 *   routes.subscribe((table) => void publisher.publish(table.routes));
 */
import { LABELS } from '../manifests/labels.js';
import { type HttpRouteOptions, renderHttpRoute, type RouteSource } from '../manifests/http-route.js';
import { KeyedSerial } from '../keyed-serial.js';
import type { KubeClient } from './kube-client.js';

/** Options of {@link HttpRoutePublisher}. */
export interface HttpRoutePublisherOptions extends Omit<HttpRouteOptions, 'namespace'> {
  readonly namespaceOf: (environment: string) => string;
}

/** See the module comment. */
export class HttpRoutePublisher {
  /** `namespace/name` → JSON of what was last applied. */
  private readonly applied = new Map<string, string>();
  private readonly serial = new KeyedSerial();

  constructor(
    private readonly client: KubeClient,
    private readonly o: HttpRoutePublisherOptions,
  ) {}

  /** Applies the routes' HTTPRoutes and deletes those of deployments no longer routed. Calls run one at a time. */
  publish(routes: readonly RouteSource[]): Promise<void> {
    return this.serial.run('publish', () => this.sync(routes));
  }

  private async sync(routes: readonly RouteSource[]): Promise<void> {
    const wanted = new Map<string, Record<string, unknown>>();
    for (const route of routes) {
      // A worker has no Service to route to (and normally no route at all).
      if (route.kind === 'worker') continue;
      const namespace = this.o.namespaceOf(route.environment);
      const object = renderHttpRoute(route, { ...this.o, namespace });
      wanted.set(`${namespace}/${(object.metadata as { name: string }).name}`, object);
    }
    for (const [id, object] of wanted) {
      const text = JSON.stringify(object);
      if (this.applied.get(id) === text) continue;
      await this.client.apply(object as never);
      this.applied.set(id, text);
    }
    const { items } = await this.client.list(
      'gateway.networking.k8s.io/v1',
      'HTTPRoute',
      undefined,
      `${LABELS.owner}=${this.o.owner}`,
    );
    for (const item of items) {
      const id = `${item.metadata?.namespace}/${item.metadata?.name}`;
      if (wanted.has(id)) continue;
      await this.client.delete(
        'gateway.networking.k8s.io/v1',
        'HTTPRoute',
        item.metadata!.namespace!,
        item.metadata!.name!,
      );
      this.applied.delete(id);
    }
  }
}
