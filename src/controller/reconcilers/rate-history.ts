/**
 * The request-rate history a forecast is fitted on: the mean requests/s of each `bucketSeconds`
 * bucket, oldest first, bounded to `maxBuckets`. Buckets are aligned to the epoch so a restarted
 * control plane continues the same series from the stored copy; a gap (the control plane was
 * down) is filled with the last known rate rather than zeros, which would read as a collapse.
 */
export interface StoredHistory {
  bucketSeconds: number;
  /** ISO time of the first bucket's start. */
  start: string;
  rates: number[];
}

/** See the module comment. */
export class RateHistory {
  private start: number;
  private rates: number[];
  /** The bucket being filled: its index since epoch and the rate samples so far. */
  private open: { index: number; sum: number; n: number } | undefined;

  constructor(
    readonly bucketSeconds: number,
    private readonly maxBuckets: number,
    stored?: StoredHistory,
  ) {
    const usable = stored !== undefined && stored.bucketSeconds === bucketSeconds;
    this.start = usable ? Date.parse(stored.start) : Number.NaN;
    this.rates = usable ? stored.rates.slice(-maxBuckets) : [];
    if (usable && stored.rates.length > maxBuckets)
      this.start += (stored.rates.length - maxBuckets) * bucketSeconds * 1000;
  }

  /**
   * Records the current rate at `now`. Returns true when a bucket closed (the series grew), which
   * is when a forecast should be recomputed and the history stored.
   */
  add(now: number, rate: number): boolean {
    const bucketMs = this.bucketSeconds * 1000;
    const index = Math.floor(now / bucketMs);
    if (this.open === undefined) {
      this.open = { index, sum: rate, n: 1 };
      return false;
    }
    if (index === this.open.index) {
      this.open.sum += rate;
      this.open.n++;
      return false;
    }
    const closed = this.open;
    this.open = { index, sum: rate, n: 1 };
    const mean = closed.sum / closed.n;
    if (this.rates.length === 0 || Number.isNaN(this.start)) {
      this.start = closed.index * bucketMs;
      this.rates = [mean];
    } else {
      const expected = Math.round(this.start / bucketMs) + this.rates.length;
      const last = this.rates[this.rates.length - 1]!;
      for (let i = expected; i < closed.index && i - expected < this.maxBuckets; i++) this.rates.push(last);
      this.rates.push(mean);
    }
    if (this.rates.length > this.maxBuckets) {
      const drop = this.rates.length - this.maxBuckets;
      this.rates.splice(0, drop);
      this.start += drop * bucketMs;
    }
    return true;
  }

  /** The closed buckets' rates, oldest first. */
  values(): readonly number[] {
    return this.rates;
  }

  /** The form kept in the autoscaler record. */
  stored(): StoredHistory | undefined {
    if (this.rates.length === 0) return undefined;
    return {
      bucketSeconds: this.bucketSeconds,
      start: new Date(this.start).toISOString(),
      rates: this.rates.map((r) => Math.round(r * 1000) / 1000),
    };
  }
}
