/**
 * The gateway of `wharf up` as a process of its own (`wharf gateway --state-dir <home>/gateway`),
 * supervised the way the local runtime supervises replicas: the data plane must not depend on the
 * control plane, so a control plane killed with SIGKILL leaves the gateway serving with its last
 * route table, and the next `wharf up` on the same home adopts it (same pid, same port) instead
 * of starting a second one. The gateway follows the control plane's route watch stream, asks it
 * for a replica over `POST …/activate` when a route holds requests (scale from zero), and answers
 * the control plane's questions (assignments, ejections) on a loopback admin port; its `/metrics`
 * feed the built-in metrics source like any standalone gateway's.
 *
 * Adoption needs the recorded process (pid and kernel start time) alive, answering `/healthz`,
 * following this control plane's URL and on the requested address; otherwise it is stopped and a
 * new one started. A gateway that exits while `wharf up` runs is started again with back-off, on
 * the port it had, so the URL users call stays the same. {@link GatewayProcess.stop} stops it (no
 * orphan).
 */
import { DEFAULT_ROUTE_DOMAIN } from '../protocol/route-table.js';
import { closeSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import { type GatewayStateRecord, readGatewayState, removeGatewayState } from '../gateway/gateway-state.js';
import { backoffDelay, type BackoffPolicy } from '../runtime/local/backoff.js';
import { lastLine, type LogPaths, openForChild } from '../runtime/local/log-files.js';
import { describeExit, type ExitInfo, ProcessHandle } from '../runtime/local/process-handle.js';
import { isSameProcess } from '../runtime/local/process-identity.js';

/** Settings of {@link GatewayProcess.start}. */
export interface GatewayProcessOptions {
  /** Where the gateway records itself and its last table, and writes its logs. */
  readonly stateDir: string;
  readonly host: string;
  /** 0 picks a free port (kept across restarts of the gateway process). */
  readonly port: number;
  /** The control plane API it follows, e.g. http://127.0.0.1:8080 */
  readonly controlPlane: string;
  /** The `wharf` launcher. */
  readonly wharfBin: string;
  readonly log: (line: string) => void;
  /** Start it with `--debug-headers` (x-wharf-backend on answers). Default off. */
  readonly debugHeaders?: boolean;
  /** Start it with `--domain` (application host names). Default `localhost`. */
  readonly domain?: string;
  /** The credentials file (credentials-file.ts) whose token it sends to the control plane; '' = none (`--auth none`). */
  readonly tokenFile?: string;
  /** A CA (PEM file) it trusts besides the system's, for a control plane on HTTPS; '' = none. */
  readonly caFile?: string;
  /** Delay before starting a gateway that exited again (default 200 ms doubling to 10 s). */
  readonly backoff?: BackoffPolicy;
  /** How often an adopted gateway's exit is polled (not our child: no exit event). Default 200 ms. */
  readonly exitPollMs?: number;
  /** How long a gateway may take to listen and record itself (default 30 s). */
  readonly startTimeoutMs?: number;
  /** SIGTERM to SIGKILL at stop; above the gateway's own 30 s drain of in-flight requests. Default 35 s. */
  readonly stopGraceMs?: number;
}

/** A gateway that ran this long is stable: the restart back-off starts over. */
const STABLE_MS = 10_000;

/** See the module comment. */
export class GatewayProcess {
  private handle: ProcessHandle;
  private record: GatewayStateRecord;
  private stopping = false;
  private failures = 0;
  private restartTimer: NodeJS.Timeout | undefined;
  private restarting: Promise<void> | undefined;

  private constructor(
    private readonly o: Required<GatewayProcessOptions>,
    running: { handle: ProcessHandle; record: GatewayStateRecord },
    /** Whether the first gateway was adopted rather than started. */
    readonly adopted: boolean,
  ) {
    this.handle = running.handle;
    this.record = running.record;
    this.supervise();
  }

  /** Adopts the recorded gateway if it fits, otherwise starts one; rejects when it cannot start (e.g. the port is taken). */
  static async start(options: GatewayProcessOptions): Promise<GatewayProcess> {
    const o: Required<GatewayProcessOptions> = {
      backoff: { initialMs: 200, maxMs: 10_000 },
      debugHeaders: false,
      domain: DEFAULT_ROUTE_DOMAIN,
      tokenFile: '',
      caFile: '',
      exitPollMs: 200,
      startTimeoutMs: 30_000,
      stopGraceMs: 35_000,
      ...options,
    };
    mkdirSync(o.stateDir, { recursive: true });
    const recorded = readGatewayState(o.stateDir);
    if (recorded !== undefined && isSameProcess({ pid: recorded.pid, startTime: recorded.processStartTime })) {
      const misfit = await whyNotAdopt(recorded, o);
      if (misfit === undefined) {
        const handle = ProcessHandle.adopt({ pid: recorded.pid, startTime: recorded.processStartTime }, o.exitPollMs);
        if (handle !== undefined) {
          o.log(`gateway: adopted the running gateway (pid ${recorded.pid}) at ${recorded.url}`);
          await post(`${recorded.adminUrl!}/reconnect`).catch(() => undefined); // it follows this control plane again at once
          return new GatewayProcess(o, { handle, record: recorded }, true);
        }
      } else {
        o.log(`gateway: stopping the recorded gateway (pid ${recorded.pid}): ${misfit}`);
        const old = ProcessHandle.adopt({ pid: recorded.pid, startTime: recorded.processStartTime }, o.exitPollMs);
        await old?.terminate(o.stopGraceMs);
        old?.sweepGroup();
      }
    }
    const running = await spawnGateway(o, o.port);
    await untilReady(running.record.url, o.startTimeoutMs).catch((err: unknown) =>
      o.log(`gateway: ${(err as Error).message}`),
    );
    return new GatewayProcess(o, running, false);
  }

  /** The URL users call. */
  get url(): string {
    return this.record.url;
  }

  /** The admin listener of the gateway (of the last one while it is being restarted: calls then fail as unavailable). */
  get adminUrl(): string | undefined {
    return this.record.adminUrl;
  }

  /** Pid of the gateway process running now. */
  get pid(): number {
    return this.handle.pid;
  }

  /** Stops the gateway (SIGTERM: it drains in-flight requests; SIGKILL after the grace) and stops supervising. */
  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.restartTimer);
    await this.restarting;
    await this.handle.terminate(this.o.stopGraceMs);
    this.handle.sweepGroup();
    removeGatewayState(this.o.stateDir, this.handle.pid);
  }

  /** Stops supervising and leaves the gateway running for a later control plane to adopt (as a killed `wharf up` does). */
  detach(): void {
    this.stopping = true;
    clearTimeout(this.restartTimer);
    this.handle.detach();
  }

  private supervise(): void {
    const handle = this.handle;
    const since = Date.now();
    void handle.exited.then((info) => {
      if (this.stopping || handle !== this.handle) return;
      handle.sweepGroup();
      if (Date.now() - since >= STABLE_MS) this.failures = 0;
      this.scheduleRestart(`the gateway process (pid ${handle.pid}) ${describeExit(info)}`);
    });
  }

  private scheduleRestart(why: string): void {
    const delay = backoffDelay(this.o.backoff, ++this.failures);
    this.o.log(`gateway: ${why}; starting it again in ${delay} ms`);
    this.restartTimer = setTimeout(() => {
      // The same port as before, so the URL users call does not change.
      this.restarting = spawnGateway(this.o, this.record.port)
        .then(
          (running) => {
            this.handle = running.handle;
            this.record = running.record;
            if (this.stopping) return; // stop() is waiting to stop this one
            this.o.log(`gateway: started again (pid ${running.handle.pid}) at ${running.record.url}`);
            this.supervise();
          },
          (err: unknown) => {
            if (!this.stopping) this.scheduleRestart(`the gateway could not start: ${(err as Error).message}`);
          },
        )
        .finally(() => {
          this.restarting = undefined;
        });
    }, delay);
  }
}

/** Why the recorded gateway cannot be adopted; undefined when it can. */
async function whyNotAdopt(
  recorded: GatewayStateRecord,
  o: Required<GatewayProcessOptions>,
): Promise<string | undefined> {
  if (recorded.controlPlane !== o.controlPlane) return `it follows ${recorded.controlPlane}, not ${o.controlPlane}`;
  if (recorded.host !== o.host) return `it listens on ${recorded.host}, not ${o.host}`;
  if (o.port !== 0 && recorded.port !== o.port) return `it listens on port ${recorded.port}, not ${o.port}`;
  if (recorded.adminUrl === undefined) return 'it has no admin listener';
  if ((recorded.debugHeaders ?? false) !== o.debugHeaders)
    return `it was started ${o.debugHeaders ? 'without' : 'with'} --debug-headers`;
  if ((recorded.domain ?? DEFAULT_ROUTE_DOMAIN) !== o.domain)
    return `it serves applications under ${recorded.domain ?? DEFAULT_ROUTE_DOMAIN}, not ${o.domain}`;
  try {
    const res = await request(`${recorded.url}/healthz`, {
      signal: AbortSignal.timeout(2_000),
      headersTimeout: 2_000,
      bodyTimeout: 2_000,
    });
    await res.body.dump();
    if (res.statusCode !== 200) return `its /healthz answered ${res.statusCode}`;
  } catch (err) {
    return `its /healthz did not answer: ${(err as Error & { code?: string }).code ?? (err as Error).message}`;
  }
  return undefined;
}

async function post(url: string): Promise<void> {
  const res = await request(url, {
    method: 'POST',
    signal: AbortSignal.timeout(2_000),
    headersTimeout: 2_000,
    bodyTimeout: 2_000,
  });
  await res.body.dump();
}

/** Waits until the gateway has its first route table (`/readyz` 200), so the URL answers once `wharf up` says it is up. */
async function untilReady(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const res = await request(`${url}/readyz`, {
        signal: AbortSignal.timeout(2_000),
        headersTimeout: 2_000,
        bodyTimeout: 2_000,
      });
      await res.body.dump();
      if (res.statusCode === 200) return;
    } catch {
      // not listening yet, or busy: try again
    }
    if (Date.now() > deadline) throw new Error(`${url} had no route table within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Starts `wharf gateway` in a session of its own and waits until it has recorded itself; rejects with its last log line if it exits first. */
async function spawnGateway(
  o: Required<GatewayProcessOptions>,
  port: number,
): Promise<{ handle: ProcessHandle; record: GatewayStateRecord }> {
  const logs: LogPaths = {
    stdout: join(o.stateDir, 'gateway.stdout.log'),
    stderr: join(o.stateDir, 'gateway.stderr.log'),
  };
  const fds = openForChild(logs);
  let handle: ProcessHandle;
  try {
    handle = ProcessHandle.spawn({
      argv: [
        process.execPath,
        o.wharfBin,
        'gateway',
        '--control-plane',
        o.controlPlane,
        '--host',
        o.host,
        '--port',
        String(port),
        '--admin-port',
        '0',
        '--state-dir',
        o.stateDir,
        ...(o.debugHeaders ? ['--debug-headers'] : []),
        '--domain',
        o.domain,
        ...(o.tokenFile === '' ? [] : ['--token-file', o.tokenFile]),
      ],
      // Node adds this CA to the ones its TLS client trusts (undici's included), read at process start.
      env: o.caFile === '' ? process.env : { ...process.env, NODE_EXTRA_CA_CERTS: o.caFile },
      stdoutFd: fds.stdout,
      stderrFd: fds.stderr,
    });
  } finally {
    closeSync(fds.stdout);
    closeSync(fds.stderr);
  }
  let exit: ExitInfo | undefined;
  void handle.exited.then((info) => (exit = info));
  const deadline = Date.now() + o.startTimeoutMs;
  for (;;) {
    const record = readGatewayState(o.stateDir);
    if (record?.pid === handle.pid) return { handle, record };
    if (exit !== undefined || Date.now() > deadline) {
      if (exit === undefined) {
        await handle.terminate(1_000);
        handle.sweepGroup();
      }
      const line = await lastLine(logs.stderr).catch(() => undefined);
      const how = exit === undefined ? `did not start within ${o.startTimeoutMs} ms` : describeExit(exit);
      throw new Error(
        `the gateway process ${how}${line === undefined ? '' : `: ${line.replace(/^wharf: /, '')}`} (log: ${logs.stderr})`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
