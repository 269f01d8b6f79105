/**
 * Health checks, Kubernetes-style: an HTTP GET passes on any 2xx or 3xx answer within the timeout,
 * a TCP check passes when a connection opens. Used for replica probes and workload dependencies.
 */
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';

/** The outcome of one check; `detail` says why it failed, e.g. `connection refused`, `answered 503`. */
export interface CheckResult {
  readonly ok: boolean;
  readonly detail: string;
}

/**
 * One GET of `url`. A fresh connection per check with `Connection: close`: a pooled keep-alive
 * connection would be one more open socket a draining replica has to wait for.
 */
export function httpCheck(url: string, timeoutMs: number): Promise<CheckResult> {
  return new Promise((resolve) => {
    const client = url.startsWith('https:') ? https : http;
    const req = client.get(url, { agent: false, headers: { connection: 'close' }, timeout: timeoutMs }, (res) => {
      res.resume();
      const status = res.statusCode ?? 0;
      resolve({ ok: status >= 200 && status < 400, detail: `answered ${status}` });
    });
    req.once('timeout', () => req.destroy(new TimeoutError(timeoutMs)));
    req.once('error', (err) => resolve({ ok: false, detail: describeError(err) }));
  });
}

/** Opens (and at once closes) a TCP connection to `host:port`. */
export function tcpCheck(host: string, port: number, timeoutMs: number): Promise<CheckResult> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    socket.setTimeout(timeoutMs, () => socket.destroy(new TimeoutError(timeoutMs)));
    socket.once('connect', () => {
      socket.destroy();
      resolve({ ok: true, detail: 'connected' });
    });
    socket.once('error', (err) => resolve({ ok: false, detail: describeError(err) }));
  });
}

/** True on a passing {@link httpCheck}. */
export async function httpProbe(url: string, timeoutMs: number): Promise<boolean> {
  return (await httpCheck(url, timeoutMs)).ok;
}

class TimeoutError extends Error {
  constructor(timeoutMs: number) {
    super(`timed out after ${timeoutMs} ms`);
  }
}

function describeError(err: Error): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (err instanceof TimeoutError) return err.message;
  if (code === 'ECONNREFUSED') return 'connection refused';
  if (code === 'ECONNRESET') return 'connection reset';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'host not found';
  return err.message;
}

/**
 * Runs `check` now (or after `initialDelayMs`) and then every `intervalMs`, measured from the end
 * of the previous check so a slow target is never checked concurrently, and hands each result to
 * `onResult` until stopped.
 */
export class ProbeLoop {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly check: () => Promise<CheckResult>,
    private readonly intervalMs: number,
    private readonly onResult: (result: CheckResult) => void,
  ) {}

  /** An HTTP probe loop of `url`. */
  static http(url: string, intervalMs: number, timeoutMs: number, onResult: (ok: boolean) => void): ProbeLoop {
    return new ProbeLoop(
      () => httpCheck(url, timeoutMs),
      intervalMs,
      (r) => onResult(r.ok),
    );
  }

  /** Starts checking; the first check runs after `initialDelayMs` (default at once). */
  start(initialDelayMs = 0): this {
    this.schedule(initialDelayMs);
    return this;
  }

  /** Stops checking; a check in flight finishes but its result is dropped. */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      void this.check().then((result) => {
        if (this.stopped) return;
        this.onResult(result);
        this.schedule(this.intervalMs);
      });
    }, delayMs);
  }
}
