/**
 * Worker thread of {@link ShadowComparer}: compares pairs of large responses so their JSON parsing
 * never blocks the gateway's event loop. Message in: `{ id, primary, shadow, tolerance, protocol }`; out:
 * `{ id, comparison }`.
 */
import { parentPort } from 'node:worker_threads';
import type { RouteProtocol } from '../protocol/route-table.js';
import { type ComparedResponse, compareResponses } from './shadow-compare.js';

/** A comparison request sent to the worker. */
export interface CompareRequest {
  readonly id: number;
  readonly primary: ComparedResponse;
  readonly shadow: ComparedResponse;
  readonly tolerance: number;
  readonly protocol: RouteProtocol;
}

parentPort?.on('message', (message: CompareRequest) => {
  parentPort!.postMessage({
    id: message.id,
    comparison: compareResponses(message.primary, message.shadow, message.tolerance, message.protocol),
  });
});
