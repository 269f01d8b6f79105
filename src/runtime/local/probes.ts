/**
 * Health checks, Kubernetes-style: an HTTP GET passes on any 2xx or 3xx answer within the timeout,
 * a TCP check passes when a connection opens. Used for replica probes and workload dependencies.
 */
import { spawn } from 'node:child_process';
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

/** Where and how a health command runs: the replica's working directory and environment. */
export interface ExecContext {
  readonly cwd?: string;
  readonly env: NodeJS.ProcessEnv;
}

/**
 * Runs `argv` (a worker's health command) and passes when it exits 0 within `timeoutMs`. It runs
 * in a process group of its own, killed whole at the timeout, so a hung check leaves nothing.
 */
export function execCheck(argv: readonly string[], context: ExecContext, timeoutMs: number): Promise<CheckResult> {
  return new Promise((resolve) => {
    const [command, ...args] = argv;
    const child = spawn(command!, args, {
      detached: true,
      stdio: 'ignore',
      env: context.env,
      ...(context.cwd === undefined ? {} : { cwd: context.cwd }),
    });
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
      resolve({ ok: false, detail: `timed out after ${timeoutMs} ms` });
    }, timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      resolve({ ok: false, detail: `could not be run: ${err.message}` });
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve(
        code === 0
          ? { ok: true, detail: 'exited 0' }
          : { ok: false, detail: code === null ? `killed by ${signal}` : `exited with code ${code}` },
      );
    });
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

  /** A loop that runs a health command (see {@link execCheck}). */
  static exec(
    argv: readonly string[],
    context: ExecContext,
    intervalMs: number,
    timeoutMs: number,
    onResult: (ok: boolean) => void,
  ): ProbeLoop {
    return new ProbeLoop(
      () => execCheck(argv, context, timeoutMs),
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
