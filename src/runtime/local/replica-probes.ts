/**
 * The probe schedule of one replica process. With a startup probe: only it runs (every
 * `startup.intervalMs`) until its first pass or the startup deadline; after the pass, readiness
 * and liveness begin, each one interval later. Without one: readiness and liveness start at once.
 * What a result means (ready, restart) is the replica's decision; this only schedules and reports.
 *
 * A workload that serves nothing (a worker, `serves: 'none'`) has no HTTP probes: without a
 * health command it passes startup at once (ready while its process runs); with one, that command
 * (run every `liveness.intervalMs`) is its startup, readiness and liveness check alike.
 */
import type { Workload } from '../runtime.js';
import { type ExecContext, ProbeLoop } from './probes.js';
import { probePath, startupPath } from './workload-spec.js';

/** What the replica is told. */
export interface ProbeHandlers {
  /** The startup probe passed (once); readiness and liveness are now scheduled. */
  readonly startupPassed: () => void;
  /** No startup pass by the deadline; every probe has stopped. */
  readonly startupTimedOut: (message: string) => void;
  readonly readiness: (ok: boolean) => void;
  readonly liveness: (ok: boolean) => void;
}

/** The probes of one process at `baseUrl`, until {@link stop}. */
export class ReplicaProbes {
  private loops: ProbeLoop[] = [];
  private deadline: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly baseUrl: string,
    private readonly workload: Workload,
    private readonly handlers: ProbeHandlers,
    /** Where a health command runs. */
    private readonly exec: ExecContext = { env: {} },
  ) {}

  /** Starts probing; `remainingMs` is the time left until the startup deadline (ignored without a startup probe). */
  begin(remainingMs: number): this {
    if (this.workload.serves === 'none') return this.beginCommand();
    const { startup } = this.workload;
    if (!startup) {
      this.startHealth(false);
      return this;
    }
    const path = startupPath(startup, this.workload);
    this.loops = [
      ProbeLoop.http(this.baseUrl + path, startup.intervalMs, startup.probeTimeoutMs, (ok) =>
        this.onStartup(ok),
      ).start(),
    ];
    this.deadline = setTimeout(
      () => {
        this.stop();
        this.handlers.startupTimedOut(`startup probe ${path} did not pass within ${startup.timeoutMs} ms`);
      },
      Math.max(0, remainingMs),
    );
    return this;
  }

  private beginCommand(): this {
    const health = this.workload.healthCommand;
    if (health === undefined) {
      // Ready while the process runs: told on the next turn, once the caller holds this object.
      queueMicrotask(() => {
        if (!this.stopped) this.handlers.startupPassed();
      });
      return this;
    }
    const { liveness, readiness } = this.workload;
    let started = false;
    this.loops = [
      ProbeLoop.exec(health.argv, this.exec, liveness.intervalMs, liveness.timeoutMs, (ok) => {
        if (!started) {
          // Until the first pass the command is the startup check: failures only delay readiness.
          if (!ok) return;
          started = true;
          this.handlers.startupPassed();
          return;
        }
        this.handlers.readiness(ok);
        this.handlers.liveness(ok);
      }).start(Math.min(readiness.intervalMs, 100)),
    ];
    return this;
  }

  /** Stops every probe and the startup deadline; results in flight are dropped. */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.deadline);
    for (const loop of this.loops) loop.stop();
    this.loops = [];
  }

  private onStartup(ok: boolean): void {
    if (!ok || this.stopped) return;
    clearTimeout(this.deadline);
    for (const loop of this.loops) loop.stop();
    this.startHealth(true);
    this.handlers.startupPassed();
  }

  private startHealth(afterStartup: boolean): void {
    const { readiness, liveness } = this.workload;
    this.loops = [
      ProbeLoop.http(
        this.baseUrl + probePath(readiness, 'readiness'),
        readiness.intervalMs,
        readiness.timeoutMs,
        this.handlers.readiness,
      ).start(afterStartup ? readiness.intervalMs : 0),
      ProbeLoop.http(
        this.baseUrl + probePath(liveness, 'liveness'),
        liveness.intervalMs,
        liveness.timeoutMs,
        this.handlers.liveness,
      ).start(afterStartup ? liveness.intervalMs : 0),
    ];
  }
}
