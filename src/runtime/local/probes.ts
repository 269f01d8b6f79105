/** HTTP health probes of one replica, Kubernetes-style: any 2xx or 3xx answer within the timeout passes. */
import http from 'node:http';

/**
 * One GET of `url`; resolves true on a 200–399 answer within `timeoutMs`, false on anything else
 * (refused, timeout, 4xx/5xx). A fresh connection per probe with `Connection: close`: a pooled
 * keep-alive connection would be one more open socket a draining replica has to wait for.
 */
export function httpProbe(url: string, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get(url, { agent: false, headers: { connection: 'close' }, timeout: timeoutMs }, (res) => {
      res.resume();
      const status = res.statusCode ?? 0;
      resolve(status >= 200 && status < 400);
    });
    req.once('timeout', () => req.destroy(new Error('probe timed out')));
    req.once('error', () => resolve(false));
  });
}

/**
 * Probes `url` now and then every `intervalMs` (measured from the end of the previous probe, so a
 * slow replica is never probed concurrently) and hands each result to `onResult` until stopped.
 */
export class ProbeLoop {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly url: string,
    private readonly intervalMs: number,
    private readonly timeoutMs: number,
    private readonly onResult: (ok: boolean) => void,
  ) {}

  /** Starts probing; the first probe runs at once. */
  start(): this {
    this.schedule(0);
    return this;
  }

  /** Stops probing; a probe in flight finishes but its result is dropped. */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      void httpProbe(this.url, this.timeoutMs).then((ok) => {
        if (this.stopped) return;
        this.onResult(ok);
        this.schedule(this.intervalMs);
      });
    }, delayMs);
  }
}
