/**
 * A short in-memory series of (time, value) samples with trailing-window averages: the autoscaler's
 * view of metrics it samples itself (CPU and memory of the replicas, a custom PromQL value),
 * where the gateway's counters cannot give a window directly.
 */
export class SampleWindow {
  private readonly samples: { time: number; value: number }[] = [];

  constructor(private readonly retentionMs: number) {}

  /** Adds a sample and drops those older than the retention. */
  add(time: number, value: number): void {
    this.samples.push({ time, value });
    const cutoff = time - this.retentionMs;
    let drop = 0;
    while (drop < this.samples.length - 1 && this.samples[drop]!.time < cutoff) drop++;
    if (drop > 0) this.samples.splice(0, drop);
  }

  /** Mean of the samples in the trailing `windowMs` ending at `now`; undefined when there are none. */
  average(now: number, windowMs: number): number | undefined {
    let sum = 0;
    let n = 0;
    for (let i = this.samples.length - 1; i >= 0; i--) {
      const s = this.samples[i]!;
      if (s.time < now - windowMs) break;
      sum += s.value;
      n++;
    }
    return n === 0 ? undefined : sum / n;
  }
}
