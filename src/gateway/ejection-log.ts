/**
 * The gateway's recent ejection events: every time a backend is taken out of rotation (after
 * connect failures, 5xx answers or timeouts) or admitted again. A bounded ring (the newest
 * {@link EJECTION_LOG_SIZE} events) with a gateway-wide sequence number, so that a reader (the
 * control plane, a test, an operator) can poll for "events after the last one I saw" without
 * missing or repeating any while it keeps up. Events are rare, so this is off the hot path.
 */
import type { EjectionEvent } from '../protocol/gateway-snapshot.js';

/** Events kept by default. */
export const EJECTION_LOG_SIZE = 512;

/** An event as its producer describes it; the log adds `seq` and `time`. */
export type EjectionRecord = Omit<EjectionEvent, 'seq' | 'time'>;

/** Bounded ring of {@link EjectionEvent}s, oldest first. */
export class EjectionLog {
  private readonly ring: EjectionEvent[] = [];
  /** Index in `ring` of the oldest event once the ring is full. */
  private start = 0;
  private seq = 0;

  constructor(
    private readonly capacity = EJECTION_LOG_SIZE,
    /** Receives one line per event, when the gateway has a logger. */
    private readonly log?: (line: string) => void,
    private readonly clock: () => number = Date.now,
  ) {}

  /** `seq` of the newest event; 0 before the first. */
  get lastSeq(): number {
    return this.seq;
  }

  /** Appends an event (dropping the oldest when full) and logs it. */
  record(record: EjectionRecord): EjectionEvent {
    const event: EjectionEvent = { seq: ++this.seq, time: this.clock(), ...record };
    if (this.ring.length < this.capacity) {
      this.ring.push(event);
    } else {
      this.ring[this.start] = event;
      this.start = (this.start + 1) % this.capacity;
    }
    this.log?.(describeEvent(event));
    return event;
  }

  /** Kept events with `seq` greater than `seq`, oldest first (all kept ones for 0). */
  since(seq: number): EjectionEvent[] {
    const all = this.recent();
    // Sequence numbers are consecutive, so the first wanted event's position is arithmetic.
    const first = all.length === 0 ? 0 : Math.max(0, seq - all[0]!.seq + 1);
    return all.slice(first);
  }

  /** Every kept event, oldest first. */
  recent(): EjectionEvent[] {
    return [...this.ring.slice(this.start), ...this.ring.slice(0, this.start)];
  }
}

/**
 * One log line for an event.
 *
 * @example
 *   "ejected backend 'risk-3-a' (revision 3 of deployment 'risk' in environment 'production') for 5000 ms: 5 consecutive 5xx responses"
 */
export function describeEvent(e: EjectionEvent): string {
  const where = `backend '${e.backend}' (revision ${e.revision} of deployment '${e.deployment}' in environment '${e.environment}')`;
  return e.type === 'ejected'
    ? `ejected ${where} for ${e.durationMs} ms: ${e.reason}`
    : `readmitted ${where}: ${e.reason}`;
}
