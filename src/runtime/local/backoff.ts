/**
 * Restart policy of a replica: capped exponential backoff between restarts, and the crash-loop
 * judgement. Pure (time comes in as arguments), so the rules are testable without processes.
 */

/** Delays between restarts: `initialMs`, doubling per consecutive crash, never above `maxMs`. */
export interface BackoffPolicy {
  readonly initialMs: number;
  readonly maxMs: number;
}

/**
 * The delay before restart number `attempt` (1 for the first crash since the replica was last
 * stable).
 *
 * @example backoffDelay({ initialMs: 500, maxMs: 30_000 }, 3) // 2000
 */
export function backoffDelay(policy: BackoffPolicy, attempt: number): number {
  const exponent = Math.max(0, Math.min(attempt - 1, 30));
  return Math.min(policy.maxMs, policy.initialMs * 2 ** exponent);
}

/**
 * A replica's recent exits. It is crash-looping once `threshold` exits fall within `windowMs`.
 * It counts as stable again only after staying ready for a whole window; merely not crashing is
 * not enough, because at a long back-off the exits themselves drift out of the window while the
 * replica is still down.
 */
export class CrashHistory {
  private exits: number[] = [];
  private consecutive = 0;
  private looping = false;
  private lastDescription: string | undefined;

  constructor(
    private readonly threshold: number,
    private readonly windowMs: number,
  ) {}

  /** Records an exit at `now`; returns the back-off attempt number for the restart that follows. */
  recordExit(now: number, description: string): number {
    this.exits = this.exits.filter((t) => now - t < this.windowMs);
    this.exits.push(now);
    this.consecutive += 1;
    this.lastDescription = description;
    if (this.exits.length >= this.threshold) this.looping = true;
    return this.consecutive;
  }

  /**
   * Forgets the history once the replica has been ready since `readySince` for a whole window.
   * Returns true when that changed anything (so the caller re-evaluates conditions).
   */
  settle(readySince: number | undefined, now: number): boolean {
    if (readySince === undefined || now - readySince < this.windowMs) return false;
    if (this.consecutive === 0 && !this.looping) return false;
    this.exits = [];
    this.consecutive = 0;
    this.looping = false;
    return true;
  }

  /** True while the replica is in a crash loop. */
  get crashLooping(): boolean {
    return this.looping;
  }

  /** How the most recent exit was described (exit code or signal, last stderr line). */
  get lastExit(): string | undefined {
    return this.lastDescription;
  }
}
