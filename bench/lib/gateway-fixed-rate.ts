/**
 * An open-loop load generator: POSTs one body at a fixed rate (e.g. 1,000 requests/s) whatever the
 * server does, and measures each latency from the time the request was *scheduled*, not from when
 * it went out. wrk cannot do this (it is closed-loop: a slow response delays the next request and
 * hides the wait, "coordinated omission"), and Debian has no wrk2. Used for the gateway's
 * "≤ 1 ms added p99 at 1,000 requests/s" target.
 *
 * Sends are driven by `setTimeout`, whose resolution is about 1 ms, so a request can leave up to
 * ~1 ms after its slot. That lag is counted in the latency (it is part of open-loop semantics) and
 * reported on its own; it is the same generator for every path, so it largely cancels in a
 * difference between two paths.
 */
import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';

/** Nearest-rank percentiles of one latency sample, in milliseconds. */
export interface Percentiles {
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
}

/** What one fixed-rate run measured. */
export interface FixedRateResult {
  /** Requested rate, requests/s. */
  rate: number;
  durationS: number;
  sent: number;
  /** Answers with status 200. */
  ok: number;
  /** Answers with another status. */
  non2xx: number;
  /** Requests that got no answer (connection error, timeout). */
  failed: number;
  /** Completed requests over the time from the first slot to the last answer. */
  achievedRate: number;
  /** Scheduled slot → whole response read: what a client sending at this rate would see. */
  latencyMs: Percentiles;
  /** Handed to the HTTP client → whole response read: the server's (and proxy's) part alone. */
  serviceMs: Percentiles;
  /** Scheduled slot → handed to the HTTP client: the generator's own timer lateness. */
  sendLagMs: Percentiles;
}

/** How to drive one run. */
export interface FixedRateOptions {
  /** Full URL including the path. */
  url: string;
  body: string;
  /** Requests per second. */
  rate: number;
  durationS: number;
  /** Keep-alive connections the client may open; requests beyond them queue (and the wait counts). */
  connections?: number;
  timeoutMs?: number;
  /** Extra request headers (e.g. `authorization`). */
  headers?: Readonly<Record<string, string>>;
}

/** Nearest-rank percentiles of `values` (sorted in place). */
export function percentiles(values: Float64Array): Percentiles {
  values.sort();
  const at = (p: number): number =>
    values.length === 0
      ? NaN
      : values[Math.min(values.length - 1, Math.max(0, Math.ceil((p / 100) * values.length) - 1))]!;
  return { p50: at(50), p90: at(90), p99: at(99), p999: at(99.9), max: at(100) };
}

/**
 * Runs the fixed-rate load and resolves once every request has been answered or has failed.
 * Never rejects for a failed request: failures are counted, and the caller decides what they mean.
 */
export async function runFixedRate(opts: FixedRateOptions): Promise<FixedRateResult> {
  const url = new URL(opts.url);
  const timeout = opts.timeoutMs ?? 5_000;
  // Keep-alive connections opened on demand and reused, as wrk's are; one request per connection at a time.
  const pool = new Pool(url.origin, {
    connections: opts.connections ?? 64,
    pipelining: 1,
    headersTimeout: timeout,
    bodyTimeout: timeout,
  });
  const total = Math.max(1, Math.round(opts.rate * opts.durationS));
  const intervalMs = 1000 / opts.rate;
  const latency = new Float64Array(total);
  const service = new Float64Array(total);
  const lag = new Float64Array(total);
  const counts = { ok: 0, non2xx: 0, failed: 0, done: 0 };
  const body = Buffer.from(opts.body);
  const path = url.pathname + url.search;
  const headers = { 'content-type': 'application/json', ...opts.headers };

  let next = 0;
  let lastEnd = 0;
  let finish: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  const startAt = performance.now() + 5;

  const send = (i: number, slot: number): void => {
    const sentAt = performance.now();
    lag[i] = sentAt - slot;
    pool
      .request({ method: 'POST', path, headers, body })
      .then(
        async (res) => {
          await res.body.text(); // The whole answer, as wrk reads it, before the clock stops.
          if (res.statusCode === 200) counts.ok++;
          else counts.non2xx++;
        },
        () => void counts.failed++,
      )
      .catch(() => void counts.failed++) // A body that broke off half-way.
      .finally(() => {
        const end = performance.now();
        latency[i] = end - slot;
        service[i] = end - sentAt;
        lastEnd = Math.max(lastEnd, end);
        if (++counts.done === total) finish();
      });
  };

  const tick = (): void => {
    const now = performance.now();
    // Every slot that is due goes out now, however late the timer fired: the schedule never slips.
    while (next < total && startAt + next * intervalMs <= now) {
      send(next, startAt + next * intervalMs);
      next++;
    }
    if (next < total) setTimeout(tick, Math.max(0, startAt + next * intervalMs - performance.now()));
  };
  setTimeout(tick, 5);
  await finished;
  await pool.close();

  const completed = counts.ok + counts.non2xx;
  return {
    rate: opts.rate,
    durationS: opts.durationS,
    sent: total,
    ok: counts.ok,
    non2xx: counts.non2xx,
    failed: counts.failed,
    achievedRate: completed / ((lastEnd - startAt) / 1000),
    latencyMs: percentiles(latency),
    serviceMs: percentiles(service),
    sendLagMs: percentiles(lag),
  };
}
