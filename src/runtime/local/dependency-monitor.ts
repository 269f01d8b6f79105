/**
 * The dependencies of one workload (a feature store, a database), checked once per workload — not
 * per replica, so ten replicas do not multiply the load on the dependency. Each dependency is
 * checked every `intervalMs`; it counts as failed after `retries` consecutive failures and as
 * passing again on its first pass. Until its first result it is `pending`: replicas are held back
 * then too, since a replica must not take traffic before what it needs is known to answer.
 */
import type { DependencySpec } from '../runtime.js';
import { type CheckResult, httpCheck, ProbeLoop, tcpCheck } from './probes.js';

/** Where one dependency stands. */
export type DependencyState = 'pending' | 'passing' | 'failed';

/** The workload-level view: undefined `hold` means every dependency passes. */
export interface DependencyVerdict {
  readonly condition: {
    readonly status: 'True' | 'False' | 'Unknown';
    readonly reason: string;
    readonly message: string;
  };
  /** Why replicas are held back (out of rotation), when they are. */
  readonly hold?: string;
}

interface Tracked {
  readonly spec: DependencySpec;
  state: DependencyState;
  failures: number;
  lastDetail: string;
}

/** Checks every dependency of a workload until stopped; `onChange` runs when the verdict may have changed. */
export class DependencyMonitor {
  private readonly tracked: Tracked[];
  private readonly loops: ProbeLoop[];
  /** Recomputed on every result, not on every read: each replica's status() asks for it. */
  private current: DependencyVerdict;

  constructor(
    specs: readonly DependencySpec[],
    private readonly onChange: () => void,
  ) {
    this.tracked = specs.map((spec) => ({ spec, state: 'pending', failures: 0, lastDetail: 'not checked yet' }));
    this.loops = this.tracked.map(
      (t) =>
        new ProbeLoop(
          () => check(t.spec),
          t.spec.intervalMs,
          (r) => this.record(t, r),
        ),
    );
    this.current = this.compute();
  }

  /** Starts checking (the first check of each dependency runs at once). */
  start(): this {
    for (const loop of this.loops) loop.start();
    return this;
  }

  /** Stops every check; results in flight are dropped. */
  stop(): void {
    for (const loop of this.loops) loop.stop();
  }

  /** The `DependenciesReady` condition and the replica hold it implies. */
  verdict(): DependencyVerdict {
    return this.current;
  }

  private compute(): DependencyVerdict {
    const failed = this.tracked.filter((t) => t.state === 'failed');
    if (failed.length > 0) {
      const message = failed
        .map((t) => `${dependencyLabel(t.spec)}: ${t.lastDetail} after ${t.failures} attempts`)
        .join('; ');
      return { condition: { status: 'False', reason: 'DependencyFailed', message }, hold: `dependency ${message}` };
    }
    const pending = this.tracked.filter((t) => t.state === 'pending');
    if (pending.length > 0) {
      const message = pending
        .map(
          (t) =>
            `${dependencyLabel(t.spec)}: ${t.failures === 0 ? 'not checked yet' : `${t.lastDetail} (${t.failures} of ${t.spec.retries} attempts)`}`,
        )
        .join('; ');
      return {
        condition: { status: 'Unknown', reason: 'DependencyPending', message },
        hold: `waiting for dependency ${message}`,
      };
    }
    const names = this.tracked.map((t) => t.spec.name).join(', ');
    return {
      condition: { status: 'True', reason: 'DependenciesPassed', message: `every dependency passes: ${names}` },
    };
  }

  private record(t: Tracked, result: CheckResult): void {
    const before = t.state;
    t.lastDetail = result.detail;
    if (result.ok) {
      t.failures = 0;
      t.state = 'passing';
    } else {
      t.failures += 1;
      if (t.failures >= t.spec.retries) t.state = 'failed';
    }
    this.current = this.compute();
    // Failures below the threshold of a pending dependency change its message only; reported too,
    // so the condition shows the attempts counting up.
    if (t.state !== before || !result.ok) this.onChange();
  }
}

/** `feature-store (http://127.0.0.1:9/health)` or `db (tcp://db:5432)`. */
export function dependencyLabel(spec: DependencySpec): string {
  return `${spec.name} (${spec.http ? spec.http.url : `tcp://${spec.tcp!.host}:${spec.tcp!.port}`})`;
}

function check(spec: DependencySpec): Promise<CheckResult> {
  return spec.http
    ? httpCheck(spec.http.url, spec.timeoutMs)
    : tcpCheck(spec.tcp!.host, spec.tcp!.port, spec.timeoutMs);
}
