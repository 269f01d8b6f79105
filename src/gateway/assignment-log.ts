/**
 * Which revision served a request, by request id, for the last N requests: A/B feedback arrives
 * later with only the request id (the `x-request-id` the gateway echoed), and must be attributed
 * to the variant the request got. A ring of ids plus a Map from id to slot: O(1) to record and
 * to look up, and bounded memory, so the log can sit on the request path.
 */

/** Where a request was routed. Compiled targets hold one shared, frozen instance each. */
export interface Assignment {
  readonly environment: string;
  readonly deployment: string;
  readonly revision: number;
}

/** Default number of request ids remembered. */
export const ASSIGNMENT_LOG_SIZE = 100_000;

/**
 * Request ids longer than this are not logged: the id comes from the client, and a bounded count of
 * unbounded strings is not bounded memory. Generated ids (UUIDs) are 36 characters.
 */
export const MAX_LOGGED_ID_LENGTH = 128;

/** A bounded log of recent assignments; the oldest is forgotten first. */
export class AssignmentLog {
  private readonly ids: (string | undefined)[];
  private readonly values: (Assignment | undefined)[];
  private readonly slots = new Map<string, number>();
  private next = 0;

  constructor(readonly capacity = ASSIGNMENT_LOG_SIZE) {
    if (!Number.isSafeInteger(capacity) || capacity < 1)
      throw new RangeError(`capacity: must be a positive integer, got ${capacity}`);
    this.ids = new Array<string | undefined>(capacity).fill(undefined);
    this.values = new Array<Assignment | undefined>(capacity).fill(undefined);
  }

  /** Records that `requestId` was routed to `assignment` (a later record of the same id wins). */
  record(requestId: string, assignment: Assignment): void {
    if (requestId.length > MAX_LOGGED_ID_LENGTH) return;
    const slot = this.next;
    const evicted = this.ids[slot];
    // The evicted id may have been recorded again since; then its map entry points at a newer slot.
    if (evicted !== undefined && this.slots.get(evicted) === slot) this.slots.delete(evicted);
    this.ids[slot] = requestId;
    this.values[slot] = assignment;
    this.slots.set(requestId, slot);
    this.next = slot + 1 === this.capacity ? 0 : slot + 1;
  }

  /** The assignment of `requestId`, or undefined when it is unknown or was forgotten. */
  get(requestId: string): Assignment | undefined {
    const slot = this.slots.get(requestId);
    return slot === undefined ? undefined : this.values[slot];
  }

  /** Ids currently remembered. */
  get size(): number {
    return this.slots.size;
  }
}
