import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AssignmentLog } from './assignment-log.js';
import type { CompiledMirror, CompiledRoute, CompiledTarget } from './compiled-table.js';
import type { HoldQueues } from './hold-queue.js';
import type { Mirrors } from './mirror.js';
import type { OutlierDetector } from './outlier-detection.js';
import { type ComposerParts, RouteComposer } from './route-composer.js';
import type { FilteredRequest, ResponseTap, RoutedRequest } from './route-pipeline.js';

const primary = { revision: 1 } as CompiledTarget;
const mirrored = { revision: 2 } as CompiledTarget;
const mirror = { target: mirrored, fraction: 1, tolerance: 1e-6 } as CompiledMirror;
const tap = {} as ResponseTap;

/** Parts that record what they are asked to do. */
function parts(holds: Partial<HoldQueues> = {}) {
  const calls: string[] = [];
  const composerParts: ComposerParts = {
    outliers: {} as OutlierDetector,
    assignments: { record: (id: string) => void calls.push(`record ${id}`) } as unknown as AssignmentLog,
    mirrors: {
      start: (_route: unknown, m: CompiledMirror, request: RoutedRequest) => {
        calls.push(`mirror ${request.requestId} to ${m.target.revision}`);
        return tap;
      },
    } as unknown as Mirrors,
    holds: holds as HoldQueues,
  };
  return { calls, composer: new RouteComposer(composerParts) };
}

test('a route is given only the filters and observers it needs, in frozen arrays', () => {
  const { composer } = parts();
  const plain = composer.compose({ hold: undefined, mirror: undefined, logsAssignments: false });
  const sizes = (p: typeof plain) =>
    [p.filters, p.routed, p.dispatching, p.answered, p.erred, p.ended].map((hooks) => hooks.length);
  // Stats count attempts and ends; outlier detection reads answers and failures.
  assert.deepEqual(sizes(plain), [0, 0, 1, 1, 1, 1]);
  const everything = composer.compose({ hold: { queue: 1, timeoutMs: 1000 }, mirror, logsAssignments: true });
  assert.deepEqual(sizes(everything), [1, 1, 2, 1, 1, 1]);
  assert.ok(Object.isFrozen(everything));
  for (const hooks of Object.values(everything)) assert.ok(Object.isFrozen(hooks));
  // Shared observers are one instance per gateway, not one per route.
  const other = composer.compose({ hold: undefined, mirror: undefined, logsAssignments: true });
  assert.equal(other.answered[0], plain.answered[0]);
  assert.equal(other.routed[0], everything.routed[0]);
});

test('the assignment observer logs the target by request id; the mirror copies the first attempt only', () => {
  const { calls, composer } = parts();
  const pipeline = composer.compose({ hold: undefined, mirror, logsAssignments: true });
  const request = { requestId: 'r1', target: primary, attempts: 1, tap: undefined } as RoutedRequest & {
    attempts: number;
  };
  pipeline.routed[0]!.routed(request, primary);
  const mirrorObserver = pipeline.dispatching[1]!;
  mirrorObserver.dispatching(request);
  assert.equal(request.tap, tap);
  request.attempts = 2; // a retry resends to the primary only
  mirrorObserver.dispatching(request);
  const toMirror = { requestId: 'r2', target: mirrored, attempts: 1, tap: undefined } as RoutedRequest;
  mirrorObserver.dispatching(toMirror);
  assert.equal(toMirror.tap, undefined, 'a request routed to the mirrored revision is not copied');
  assert.deepEqual(calls, ['record r1', 'mirror r1 to 2']);
});

test('the hold filter holds a request without a target, answers 503 when the queue is full or closed', () => {
  let full = false;
  let closed = false;
  const held: unknown[] = [];
  const { composer } = parts({
    get closed() {
      return closed;
    },
    isFull: () => full,
    add: (_route: CompiledRoute, request: unknown) => void held.push(request),
  });
  const [hold] = composer.compose({
    hold: { queue: 1, timeoutMs: 1000 },
    mirror: undefined,
    logsAssignments: false,
  }).filters;
  const answered: (string | undefined)[] = [];
  const route = { routeStats: { holdRejected: 0 }, holdFullMessage: 'queue full' } as unknown as CompiledRoute;
  const request = (target: CompiledTarget | undefined) =>
    ({
      route,
      target,
      waiting: false,
      noReplica: (_route: CompiledRoute, message?: string) => void answered.push(message),
    }) as unknown as FilteredRequest;

  const routed = request(primary);
  assert.equal(hold!.admit(routed), true);
  assert.equal(routed.waiting, false, 'a request with a target goes on');
  const waiting = request(undefined);
  assert.equal(hold!.admit(waiting), true);
  assert.equal(waiting.waiting, true);
  assert.deepEqual(held, [waiting]);
  full = true;
  assert.equal(hold!.admit(request(undefined)), false);
  closed = true;
  assert.equal(hold!.admit(request(undefined)), false);
  assert.deepEqual(answered, ['queue full', 'the gateway is stopping']);
  assert.equal(route.routeStats.holdRejected, 2);
  assert.equal(held.length, 1);
});
