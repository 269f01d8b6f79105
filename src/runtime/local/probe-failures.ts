/**
 * Consecutive probe failures of one replica's current process, and what they amount to: a
 * readiness verdict (ready again, or out of rotation after `retries` failures in a row) and a
 * liveness verdict (restart after `retries` failures in a row, outside the startup grace). Pure
 * counting; `replica-process.ts` acts on the verdicts.
 */
import type { ProbeSpec, ReplicaStatus, Workload } from '../runtime.js';
import { probePath } from './workload-spec.js';

/** See the module comment. */
export class ProbeFailures {
  private readinessFailures = 0;
  private livenessFailures = 0;

  /** A new process: nothing failed yet. */
  reset(): void {
    this.readinessFailures = 0;
    this.livenessFailures = 0;
  }

  /** `ready` when a pass ends `starting` or `unready`; `{ unready }` when a ready replica failed `retries` times. */
  readiness(
    ok: boolean,
    phase: ReplicaStatus['phase'],
    readiness: ProbeSpec,
  ): 'ready' | { readonly unready: string } | undefined {
    if (ok) {
      this.readinessFailures = 0;
      return phase === 'starting' || phase === 'unready' ? 'ready' : undefined;
    }
    this.readinessFailures += 1;
    if (phase === 'ready' && this.readinessFailures >= readiness.retries)
      return { unready: `readiness probe failed ${this.readinessFailures} times in a row` };
    return undefined;
  }

  /** Why the process must be restarted, once liveness failed `retries` times in a row; `runningMs` since its start. */
  liveness(ok: boolean, workload: Pick<Workload, 'liveness' | 'startup'>, runningMs: number): string | undefined {
    if (ok) {
      this.livenessFailures = 0;
      return undefined;
    }
    // With a startup probe, liveness only runs once it passed; the grace is the older rule.
    const { liveness, startup } = workload;
    if (!startup && runningMs < liveness.startupGraceMs) return undefined;
    this.livenessFailures += 1;
    if (this.livenessFailures < liveness.retries) return undefined;
    return `liveness probe ${probePath(liveness, 'liveness')} failed ${this.livenessFailures} times in a row`;
  }
}
