/**
 * The route table as the API serves it: the current table, and each new one as it is compiled
 * (the watch stream gateways follow). The controller's RoutePublisher is one; the API names only
 * this interface, so it does not depend on the controller.
 */
import type { RouteTable } from '../protocol/route-table.js';

/** See the module comment. */
export interface RouteFeed {
  /** The newest table (version 0 with no routes before the first compile). */
  current(): RouteTable;
  /** Calls `listener` with each new table until the returned function is called. Send {@link current} first. */
  subscribe(listener: (table: RouteTable) => void): () => void;
}
