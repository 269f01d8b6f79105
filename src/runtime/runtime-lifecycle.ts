/**
 * The lifecycle every engine shares, owned here so that engines stay simple (the model is Kysely's
 * `RuntimeDriver`, which wraps a `Driver` the same way):
 *
 * - init once: the engine's `init()` runs before its first call, concurrent first callers share
 *   it, and one that failed is tried again by the next call (e.g. once another runtime released
 *   the state directory);
 * - reject after close: from the first `close()` on, every call rejects with UnavailableError
 *   `the X runtime is closed`; calls already under way finish first (the engine's `close` waits
 *   for them); `close` runs the engine's once, and every caller waits for that one;
 * - NotSupported: `usage`, `onChange` and `logs` of an engine without the capability, and an
 *   `apply` of a workload that sets a field the engine lists in `unsupportedFields`, reject with
 *   NotSupportedError instead of answering something that looks like a result.
 *
 * An engine therefore never checks a `closed` flag or an init guard of its own: its methods are
 * only called between a successful `init()` and its `close()`.
 *
 * @example
 *   const runtime = new ManagedRuntime(new LocalEngine({ stateDir }));
 *   await runtime.init();                     // optional: the first call does it anyway
 *   await runtime.apply(workload);
 *   await runtime.close();                    // later calls reject: the local runtime is closed
 */
import { NotSupportedError, UnavailableError } from '../core/errors.js';
import {
  type LogLine,
  type LogOptions,
  type ReplicaUsage,
  type Runtime,
  type RuntimeCapabilities,
  unhonouredFields,
  type Workload,
  type WorkloadKey,
  type WorkloadSelector,
  type WorkloadStatus,
} from './runtime.js';

/**
 * What an engine implements: a {@link Runtime} whose methods are only called once `init` (when it
 * has one) resolved and never after `close` began. `close` may wait for calls under way.
 */
export interface RuntimeEngine extends Omit<Runtime, 'engineFor'> {
  /** Takes the engine's resources (a state directory lock, adopted replicas); called once before any other call. */
  init?(): Promise<void>;
}

/** A {@link Runtime} over one engine; see the module comment. */
export class ManagedRuntime<E extends RuntimeEngine = RuntimeEngine> implements Runtime {
  readonly name: string;
  readonly capabilities: RuntimeCapabilities;
  #init: Promise<void> | undefined;
  #closing: Promise<void> | undefined;

  constructor(readonly engine: E) {
    this.name = engine.name;
    this.capabilities = engine.capabilities;
  }

  /** Runs the engine's `init` unless it already ran (or is running); rejects once closed. */
  init(): Promise<void> {
    if (this.#closing) return Promise.reject(this.#closed());
    this.#init ??= Promise.resolve()
      .then(() => this.engine.init?.())
      .catch((err: unknown) => {
        this.#init = undefined; // a later call may succeed
        throw err;
      });
    return this.#init;
  }

  async apply(workload: Workload): Promise<void> {
    const unhonoured = unhonouredFields(workload, this.capabilities);
    if (unhonoured.length > 0)
      throw new NotSupportedError(`the ${this.name} runtime cannot honour ${unhonoured.join('; ')}`);
    await this.ready();
    return this.engine.apply(workload);
  }

  async observe(key: WorkloadKey): Promise<WorkloadStatus | undefined> {
    await this.ready();
    return this.engine.observe(key);
  }

  async list(selector: WorkloadSelector = {}): Promise<WorkloadStatus[]> {
    await this.ready();
    return this.engine.list(selector);
  }

  async remove(key: WorkloadKey): Promise<void> {
    await this.ready();
    return this.engine.remove(key);
  }

  async *logs(key: WorkloadKey, options: LogOptions = {}): AsyncIterable<LogLine> {
    if (!this.capabilities.logs) throw this.#notSupported('logs');
    if (options.follow && !this.capabilities.followLogs) throw this.#notSupported('followed logs');
    await this.ready();
    yield* this.engine.logs(key, options);
  }

  async usage(key: WorkloadKey): Promise<ReplicaUsage[]> {
    if (!this.capabilities.usage || !this.engine.usage) throw this.#notSupported('usage');
    await this.ready();
    return this.engine.usage(key);
  }

  /** Subscribes to the engine's change notifications (no init needed: a subscription holds nothing). */
  onChange(listener: (key: WorkloadKey) => void): () => void {
    if (!this.capabilities.changeNotifications || !this.engine.onChange)
      throw this.#notSupported('change notifications');
    return this.engine.onChange(listener);
  }

  engineFor(): Promise<Pick<Runtime, 'name' | 'capabilities'>> {
    return Promise.resolve({ name: this.name, capabilities: this.capabilities });
  }

  /** Closes the engine once (after an init under way settled); every caller waits for it. */
  close(options?: { keepReplicas?: boolean }): Promise<void> {
    this.#closing ??= (async () => {
      const init = this.#init;
      if (init === undefined) return; // never started: nothing to release
      const started = await init.then(
        () => true,
        () => false, // a failed init took nothing
      );
      if (started) await this.engine.close(options);
    })();
    return this.#closing;
  }

  /** Resolves once the engine is initialised and not closed; engine-specific methods of subclasses use it. */
  protected async ready(): Promise<void> {
    await this.init();
    if (this.#closing) throw this.#closed();
  }

  #closed(): UnavailableError {
    return new UnavailableError(`the ${this.name} runtime is closed`);
  }

  #notSupported(what: string): NotSupportedError {
    return new NotSupportedError(`the ${this.name} runtime does not support ${what}`);
  }
}

/** `runtime` itself when it is already managed, else a {@link ManagedRuntime} over it. */
export function managed(runtime: RuntimeEngine | Runtime): Runtime {
  return runtime instanceof ManagedRuntime ? runtime : new ManagedRuntime(runtime);
}
