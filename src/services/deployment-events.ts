/** Builds the events appended to a deployment's history by the service and the reconciler. */
import { randomBytes } from 'node:crypto';
import type { DeploymentEvent, NewResource } from '../core/resources.js';

/** The parts of an event its author chooses. */
export interface EventInput {
  readonly type: DeploymentEvent['type'];
  /** CamelCase, e.g. `ScaledUp`. */
  readonly reason: string;
  readonly message: string;
}

/**
 * A new event of `deployment` at `time`. Its id is the time plus a random suffix: events list in id
 * order, so they list in time order, and two events in the same millisecond do not collide.
 */
export function newEvent(deployment: string, time: string, event: EventInput): NewResource<'DeploymentEvent'> {
  return { deployment, id: `${time}-${randomBytes(4).toString('hex')}`, time, ...event };
}
