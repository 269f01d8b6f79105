/**
 * Replica logs of a deployment: which of the runtime's workloads belong to it (during a
 * replacement both revisions log, and after a scale the replicas run under an earlier revision's
 * workload), narrowed to the one that has a given replica, and their lines merged or concatenated.
 */
import { NotFoundError } from '../core/errors.js';
import type { Deployment } from '../core/resources.js';
import type { LogLine, Runtime } from '../runtime/runtime.js';

/** How to read the selected logs. */
export interface LogReadOptions {
  /** Keep streaming new lines (interleaved as they arrive) until `signal` aborts. */
  follow?: boolean;
  /** Only the last N lines of what exists now, per workload. */
  tail?: number;
  signal?: AbortSignal;
}

/** The workloads chosen for one request; read them once the response has started. */
export type LogSelection = (options: LogReadOptions) => AsyncIterable<LogLine>;

/** See the module comment. */
export class WorkloadLogs {
  constructor(private readonly runtime: Pick<Runtime, 'list' | 'logs'>) {}

  /**
   * The workloads of `deployment` (with `replica`, only the one that has it). An unknown replica
   * is a `NOT_FOUND` naming the replicas that exist, thrown here, before any line is read.
   */
  async select(deployment: Deployment, replica?: string): Promise<LogSelection> {
    const workloads = await this.runtime.list({ environment: deployment.environment, deployment: deployment.name });
    const keys = workloads
      .filter((w) => replica === undefined || w.replicas.some((r) => r.id === replica))
      .map((w) => w.key);
    if (replica !== undefined && keys.length === 0) {
      const known = workloads.flatMap((w) => w.replicas.map((r) => r.id));
      throw new NotFoundError(
        `replica: deployment ${deployment.name} in ${deployment.environment} has no replica ${JSON.stringify(replica.slice(0, 100))}${known.length > 0 ? ` (replicas: ${known.join(', ')})` : ' (no replica runs)'}`,
      );
    }
    return ({ follow, tail, signal }) => {
      const sources = keys.map((key) => this.runtime.logs(key, { follow, tail, replica, signal }));
      return follow === true ? merge(sources) : concat(sources);
    };
  }
}

async function* concat<T>(sources: AsyncIterable<T>[]): AsyncIterable<T> {
  for (const source of sources) yield* source;
}

/** Interleaves several async iterables as their items arrive. */
async function* merge<T>(sources: AsyncIterable<T>[]): AsyncIterable<T> {
  const iterators = sources.map((s) => s[Symbol.asyncIterator]());
  const next = (i: number) => iterators[i]!.next().then((result) => ({ i, result }));
  const pending = new Map(iterators.map((_, i) => [i, next(i)]));
  while (pending.size > 0) {
    const { i, result } = await Promise.race(pending.values());
    if (result.done) {
      pending.delete(i);
      continue;
    }
    pending.set(i, next(i));
    yield result.value;
  }
}
