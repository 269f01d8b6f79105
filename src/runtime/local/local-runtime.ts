/**
 * The local runtime: every replica is a child process on this machine — `wharf serve-model` for a
 * model, the workload's command for an application — supervised (probes, restarts with back-off,
 * crash-loop detection), logged to size-capped files, and recorded on disk so that a restarted
 * control plane adopts the running replicas instead of starting a second set.
 *
 * This is the {@link LocalEngine} (`local-engine.ts`) under the shared lifecycle wrapper
 * (`../runtime-lifecycle.ts`: init once, reject after close, NotSupported), plus the few
 * local-only methods tests and diagnostics use.
 *
 * @example
 *   const runtime = new LocalRuntime({ stateDir: join(home, 'runtime') });
 *   await runtime.start();                       // optional: the first call starts it anyway
 *   await runtime.apply(workload);
 *   const status = await runtime.observe(workload.key);
 *   process.once('SIGINT', () => void runtime.close()); // stops every replica gracefully
 */
import { ManagedRuntime } from '../runtime-lifecycle.js';
import type { WorkloadKey } from '../runtime.js';
import { LocalEngine } from './local-engine.js';
import type { LocalRuntimeOptions } from './local-options.js';

export type { LocalRuntimeOptions } from './local-options.js';

/** Runs workloads as supervised local processes. See the module comment. */
export class LocalRuntime extends ManagedRuntime<LocalEngine> {
  constructor(options: LocalRuntimeOptions) {
    super(new LocalEngine(options));
  }

  /**
   * Locks the state directory and takes over the replicas recorded there. Idempotent; every other
   * method calls it first, so calling it explicitly only serves to surface errors (state directory
   * in use) early.
   */
  start(): Promise<void> {
    return this.init();
  }

  /** Problems found while restoring state (unreadable records), for the caller to log. */
  get restoreWarnings(): string[] {
    return this.engine.restoreWarnings;
  }

  /** Pids of the workload's running processes (local only: for tests and `wharf` diagnostics). */
  pids(key: WorkloadKey): number[] {
    return this.engine.pids(key);
  }

  /** Removes every workload: all replicas stopped gracefully, all state deleted. */
  async stopAll(): Promise<void> {
    await this.ready();
    await this.engine.stopAll();
  }
}
