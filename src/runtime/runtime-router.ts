/**
 * One {@link Runtime} over several engines: each call goes to the engine of the key's
 * environment (its `runtime` binding, or the control plane's `--runtime` override), `list()`
 * asks them all with the same selector (a workload may run on an engine its environment is no
 * longer bound to: a stray) and merges. Controllers, the API and the route publisher keep talking
 * to one Runtime. Each engine is under the lifecycle wrapper (`runtime-lifecycle.ts`): one given
 * bare is wrapped here.
 */
import { InvalidArgumentError } from '../core/errors.js';
import type { RuntimeBinding } from '../core/resources.js';
import { managed, type RuntimeEngine } from './runtime-lifecycle.js';
import type {
  LogLine,
  LogOptions,
  ReplicaUsage,
  Runtime,
  RuntimeCapabilities,
  UnsupportedFields,
  Workload,
  WorkloadKey,
  WorkloadSelector,
  WorkloadStatus,
} from './runtime.js';

/** How long an environment's binding is remembered before it is read again. */
const BINDING_CACHE_MS = 5_000;

/** Routes by environment; see the module comment. */
export class RuntimeRouter implements Runtime {
  readonly name = 'router';
  readonly capabilities: RuntimeCapabilities;
  private readonly cache = new Map<string, { binding: RuntimeBinding; until: number }>();
  private readonly engines: Partial<Record<RuntimeBinding, Runtime>>;

  constructor(
    engines: Partial<Record<RuntimeBinding, Runtime | RuntimeEngine>>,
    /** The binding of an environment (read from the store); `override` wins when set. */
    private readonly bindingOf: (environment: string) => Promise<RuntimeBinding>,
    private readonly override?: RuntimeBinding,
  ) {
    this.engines = Object.fromEntries(
      Object.entries(engines).map(([binding, engine]) => [binding, managed(engine)]),
    ) as Partial<Record<RuntimeBinding, Runtime>>;
    const all = Object.values(this.engines);
    const every = (flag: Exclude<keyof RuntimeCapabilities, 'unsupportedFields'>): boolean =>
      all.length > 0 && all.every((e) => e.capabilities[flag]);
    const any = (flag: Exclude<keyof RuntimeCapabilities, 'unsupportedFields'>): boolean =>
      all.some((e) => e.capabilities[flag]);
    // What some engine cannot honour; per key, `engineFor` tells what its own engine cannot.
    const unsupportedFields: UnsupportedFields = Object.assign(
      {},
      ...all.map((e) => e.capabilities.unsupportedFields),
    ) as UnsupportedFields;
    this.capabilities = {
      logs: every('logs'),
      followLogs: every('followLogs'),
      resourceLimits: every('resourceLimits'),
      gpu: every('gpu'),
      // Per key: an engine without it answers [] / never calls; callers still poll as a safety net.
      usage: any('usage'),
      changeNotifications: any('changeNotifications'),
      unsupportedFields,
    };
  }

  /** The engine of `key`'s environment. */
  async engineFor(key: WorkloadKey): Promise<Pick<Runtime, 'name' | 'capabilities'>> {
    const engine = await this.engine(key);
    return { name: engine.name, capabilities: engine.capabilities };
  }

  async usage(key: WorkloadKey): Promise<ReplicaUsage[]> {
    const engine = await this.engine(key);
    return engine.capabilities.usage && engine.usage ? engine.usage(key) : [];
  }

  onChange(listener: (key: WorkloadKey) => void): () => void {
    const offs = Object.values(this.engines).flatMap((e) =>
      e.capabilities.changeNotifications && e.onChange ? [e.onChange(listener)] : [],
    );
    return () => {
      for (const off of offs) off();
    };
  }

  async apply(workload: Workload): Promise<void> {
    return (await this.engine(workload.key)).apply(workload);
  }

  async observe(key: WorkloadKey): Promise<WorkloadStatus | undefined> {
    return (await this.engine(key)).observe(key);
  }

  async list(selector: WorkloadSelector = {}): Promise<WorkloadStatus[]> {
    return (await Promise.all(Object.values(this.engines).map((e) => e.list(selector)))).flat();
  }

  async remove(key: WorkloadKey): Promise<void> {
    return (await this.engine(key)).remove(key);
  }

  async *logs(key: WorkloadKey, options?: LogOptions): AsyncIterable<LogLine> {
    yield* (await this.engine(key)).logs(key, options);
  }

  async close(options?: { keepReplicas?: boolean }): Promise<void> {
    await Promise.all(Object.values(this.engines).map((e) => e.close(options)));
  }

  private async engine(key: WorkloadKey): Promise<Runtime> {
    const binding = this.override ?? (await this.binding(key.environment));
    const engine = this.engines[binding];
    if (!engine) {
      throw new InvalidArgumentError(
        `environment ${key.environment}: runtime ${binding} is not configured on this control plane (start it with --runtime ${binding}${binding === 'kubernetes' ? ' and --registry-url' : ''})`,
      );
    }
    return engine;
  }

  private async binding(environment: string): Promise<RuntimeBinding> {
    const cached = this.cache.get(environment);
    if (cached && cached.until > Date.now()) return cached.binding;
    const binding = await this.bindingOf(environment);
    this.cache.set(environment, { binding, until: Date.now() + BINDING_CACHE_MS });
    return binding;
  }
}
