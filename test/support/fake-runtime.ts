/**
 * An in-memory {@link Runtime} for controller tests: replicas "start" when applied and become ready
 * `readyAfterMs` later; a workload can be told to crash-loop. It keeps state across controllers
 * (like the local runtime adopting its processes after a control-plane restart) and records what was
 * asked of it, so tests can check for duplicates, orphans and the order of replacements.
 *
 * The real engines run the shared runtime contract suite; this fake only has to be faithful to the
 * interface's promises: `apply` is idempotent per key, and a key's spec may not change except for
 * replicas, labels and scaling.
 */
import { isDeepStrictEqual } from 'node:util';
import type {
  LogLine,
  Runtime,
  RuntimeCapabilities,
  UnsupportedFields,
  Workload,
  WorkloadKey,
  WorkloadSelector,
  WorkloadStatus,
} from '../../src/runtime/runtime.js';
import { selects, workloadKeyString } from '../../src/runtime/runtime.js';

interface FakeReplica {
  id: string;
  port: number;
  startedAt: number;
}

interface FakeWorkload {
  workload: Workload;
  replicas: FakeReplica[];
  seq: number;
}

/** A `remove` as the fake saw it: what the deployment's newest other workload looked like then. */
export interface Removal {
  key: WorkloadKey;
  /** The highest other revision of the same deployment at the moment of removal, if any. */
  newest?: { revision: number; readyReplicas: number; desiredReplicas: number };
}

let nextPort = 20_000;

/** See the module comment. */
export class FakeRuntime implements Runtime {
  readonly name = 'fake';
  readonly capabilities: RuntimeCapabilities;
  /** Every apply, in order. */
  readonly applies: Workload[] = [];
  /** Every list, with its selector, in order (to check that callers narrow it). */
  readonly lists: WorkloadSelector[] = [];
  /** Every remove, in order. */
  readonly removals: Removal[] = [];
  /** Replicas ever started, per workload key string: a restart that adopts starts none. */
  readonly started = new Map<string, number>();
  readyAfterMs: number;
  /** Runs before each apply takes effect (e.g. to hold a controller mid-reconcile). */
  beforeApply: ((workload: Workload) => Promise<void>) | undefined;
  readonly #workloads = new Map<string, FakeWorkload>();
  #crash: ((key: WorkloadKey) => string | undefined) | undefined;

  /** `unsupportedFields`: what this fake declares it cannot honour (default nothing). */
  constructor(options: { readyAfterMs?: number; unsupportedFields?: UnsupportedFields } = {}) {
    this.readyAfterMs = options.readyAfterMs ?? 30;
    this.capabilities = {
      logs: false,
      followLogs: false,
      resourceLimits: false,
      gpu: false,
      usage: false,
      changeNotifications: false,
      unsupportedFields: options.unsupportedFields ?? {},
    };
  }

  /** Workloads matching `predicate` crash-loop with `message` (undefined: nothing crashes). */
  crashLoop(predicate: ((key: WorkloadKey) => boolean) | undefined, message = 'exited with code 1 (5 restarts)'): void {
    this.#crash = predicate === undefined ? undefined : (key) => (predicate(key) ? message : undefined);
  }

  async apply(workload: Workload): Promise<void> {
    await this.beforeApply?.(workload);
    this.applies.push(workload);
    const k = workloadKeyString(workload.key);
    let entry = this.#workloads.get(k);
    if (entry === undefined) {
      entry = { workload, replicas: [], seq: 0 };
      this.#workloads.set(k, entry);
    } else {
      const strip = (w: Workload): unknown => ({ ...w, replicas: 0, labels: undefined, scaling: undefined });
      if (!isDeepStrictEqual(strip(entry.workload), strip(workload)))
        throw new Error(`workload ${k}: only replicas, labels and scaling may change for a running key`);
      entry.workload = workload;
    }
    while (entry.replicas.length < workload.replicas) {
      entry.seq++;
      entry.replicas.push({
        id: `${workload.key.deployment}-${workload.key.revision}-${entry.seq}`,
        port: nextPort++,
        startedAt: Date.now(),
      });
      this.started.set(k, (this.started.get(k) ?? 0) + 1);
    }
    entry.replicas.length = workload.replicas;
  }

  observe(key: WorkloadKey): Promise<WorkloadStatus | undefined> {
    const entry = this.#workloads.get(workloadKeyString(key));
    return Promise.resolve(entry === undefined ? undefined : this.#status(entry));
  }

  list(selector: WorkloadSelector = {}): Promise<WorkloadStatus[]> {
    this.lists.push(selector);
    return Promise.resolve(
      [...this.#workloads.values()].filter((e) => selects(selector, e.workload.key)).map((e) => this.#status(e)),
    );
  }

  remove(key: WorkloadKey): Promise<void> {
    const k = workloadKeyString(key);
    if (!this.#workloads.has(k)) return Promise.resolve();
    const newest = [...this.#workloads.values()]
      .filter(
        (e) =>
          e.workload.key.environment === key.environment &&
          e.workload.key.deployment === key.deployment &&
          e.workload.key.revision !== key.revision,
      )
      .map((e) => this.#status(e))
      .sort((a, b) => b.key.revision - a.key.revision)[0];
    this.removals.push({
      key,
      ...(newest === undefined
        ? {}
        : {
            newest: {
              revision: newest.key.revision,
              readyReplicas: newest.readyReplicas,
              desiredReplicas: newest.desiredReplicas,
            },
          }),
    });
    this.#workloads.delete(k);
    return Promise.resolve();
  }

  // eslint-disable-next-line require-yield
  async *logs(): AsyncIterable<LogLine> {
    return;
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  /** Keys of every workload, as `env/deployment@revision`, sorted. */
  keys(): string[] {
    return [...this.#workloads.keys()].sort();
  }

  /** Replicas of every workload of one deployment, summed. */
  replicaCount(environment: string, deployment: string): number {
    return [...this.#workloads.values()]
      .filter((e) => e.workload.key.environment === environment && e.workload.key.deployment === deployment)
      .reduce((n, e) => n + e.replicas.length, 0);
  }

  #status(entry: FakeWorkload): WorkloadStatus {
    const crash = this.#crash?.(entry.workload.key);
    const now = Date.now();
    const replicas = entry.replicas.map((r) => {
      const phase = crash !== undefined ? 'crashed' : now - r.startedAt >= this.readyAfterMs ? 'ready' : 'starting';
      return {
        id: r.id,
        endpoint: `http://127.0.0.1:${r.port}`,
        phase,
        restarts: crash === undefined ? 0 : 5,
        startedAt: new Date(r.startedAt).toISOString(),
      } as const;
    });
    const conditions =
      crash === undefined
        ? []
        : [
            {
              type: 'CrashLoop',
              status: 'True',
              reason: 'CrashLoopBackOff',
              message: crash,
              lastTransitionTime: new Date(now).toISOString(),
            } as const,
          ];
    return {
      key: entry.workload.key,
      desiredReplicas: entry.workload.replicas,
      readyReplicas: replicas.filter((r) => r.phase === 'ready').length,
      replicas,
      conditions,
    };
  }
}
