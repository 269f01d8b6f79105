/**
 * The verdict column of the end-to-end benchmarks (rollouts, autoscale): `met` or `MISSED` per
 * target, and the closing line that counts the misses. A miss is a result: the run still exits 0.
 */
export class MetOrMissed {
  private misses = 0;

  /** `met` when `ok`, else `MISSED` (counted). */
  verdict(ok: boolean): string {
    if (!ok) this.misses++;
    return ok ? 'met' : 'MISSED';
  }

  /** The line printed under the table. */
  summary(): string {
    return this.misses === 0 ? 'every target met\n' : `${this.misses} target(s) missed\n`;
  }
}
