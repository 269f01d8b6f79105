/**
 * The Runtime interface: what an engine (local processes, Kubernetes) must do to run the replicas
 * of one deployment revision. Controllers only talk to this; `src/server/` picks the engine.
 *
 * The contract is level-based: `apply` states the desired workload (idempotent: applying the same
 * workload twice changes nothing), `observe` reports what actually runs, `remove` deletes
 * everything of a workload. Engines never decide policy (rollouts, retries of reconciles).
 */

/** Identifies the replicas of one revision of one deployment in one environment. */
export interface WorkloadKey {
  readonly environment: string;
  readonly deployment: string;
  readonly revision: number;
}

/** Health probing of a replica; intervals in milliseconds. */
export interface ProbeSpec {
  readonly path: string;
  readonly intervalMs: number;
  readonly timeoutMs: number;
  /** Consecutive failures before the replica counts as failed (readiness) or is restarted (liveness). */
  readonly retries: number;
  /** Time a starting replica gets before liveness failures count (slow model loads). */
  readonly startupGraceMs: number;
}

/** What one revision needs to run. */
export interface Workload {
  readonly key: WorkloadKey;
  readonly replicas: number;
  /** A model served by `wharf serve-model` (type: model). */
  readonly model?: {
    readonly name: string;
    readonly version: string;
    /** Local path of the artifact (local runtime) — verified by digest before start. */
    readonly artifactPath: string;
    readonly digest: string;
    /** Extra `serve-model` flags, e.g. ['--max-batch-size', '32']. */
    readonly serverArgs?: readonly string[];
  };
  /** Any HTTP server started by a command (type: application); it must listen on $PORT. */
  readonly command?: { readonly argv: readonly string[] };
  readonly env?: Readonly<Record<string, string>>;
  readonly resources?: { readonly cpu?: string; readonly memory?: string; readonly gpu?: number };
  readonly readiness: ProbeSpec;
  readonly liveness: ProbeSpec;
  readonly labels?: Readonly<Record<string, string>>;
  /** Autoscaling bounds, targets in percent of requests (Kubernetes: an HPA); engines without autoscaling ignore it. */
  readonly scaling?: { readonly min: number; readonly max: number; readonly targetCPU: number; readonly targetMemory: number };
  /** Container image of an application workload (Kubernetes); model workloads run the engine's Wharf image. */
  readonly image?: string;
  /** Environment variables read from secrets: variable name → secret name and key (never the value). */
  readonly secretEnv?: Readonly<Record<string, { readonly secret: string; readonly key: string }>>;
}

/** One replica as the engine sees it. */
export interface ReplicaStatus {
  readonly id: string;
  /** Base URL the gateway forwards to, once known. */
  readonly endpoint?: string;
  readonly phase: 'starting' | 'ready' | 'unready' | 'crashed' | 'stopping';
  readonly restarts: number;
  readonly message?: string;
  readonly startedAt?: string;
}

/** A status condition, Kubernetes-style (e.g. type 'CrashLoop'). */
export interface Condition {
  readonly type: string;
  readonly status: 'True' | 'False' | 'Unknown';
  readonly reason: string;
  readonly message: string;
  readonly lastTransitionTime: string;
}

/** What runs for one workload. */
export interface WorkloadStatus {
  readonly key: WorkloadKey;
  readonly desiredReplicas: number;
  readonly readyReplicas: number;
  readonly replicas: readonly ReplicaStatus[];
  readonly conditions: readonly Condition[];
}

/** One captured log line. */
export interface LogLine {
  readonly replica: string;
  readonly time: string;
  readonly stream: 'stdout' | 'stderr';
  readonly text: string;
}

/** Options for {@link Runtime.logs}. */
export interface LogOptions {
  readonly replica?: string;
  /** Keep streaming new lines until `signal` aborts. */
  readonly follow?: boolean;
  /** Only the last N lines of what exists now. */
  readonly tail?: number;
  readonly signal?: AbortSignal;
}

/** What an engine can do; callers check flags instead of the engine's type. */
export interface RuntimeCapabilities {
  readonly logs: boolean;
  readonly followLogs: boolean;
  readonly resourceLimits: boolean;
  readonly gpu: boolean;
}

/** An execution engine. */
export interface Runtime {
  readonly name: string;
  readonly capabilities: RuntimeCapabilities;
  /** Makes the workload's replicas exist as described; returns once the change is under way. */
  apply(workload: Workload): Promise<void>;
  /** What runs for `key`, or undefined when nothing does. */
  observe(key: WorkloadKey): Promise<WorkloadStatus | undefined>;
  /** Every workload the engine runs (used to find strays after a restart). */
  list(): Promise<WorkloadStatus[]>;
  /** Stops and deletes everything of the workload: ready replicas are drained first. */
  remove(key: WorkloadKey): Promise<void>;
  logs(key: WorkloadKey, options?: LogOptions): AsyncIterable<LogLine>;
  /** Releases the engine's own resources; running replicas are stopped unless `keepReplicas`. */
  close(options?: { keepReplicas?: boolean }): Promise<void>;
}

/** The canonical string form of a key, e.g. `production/readmission@3`. */
export function workloadKeyString(key: WorkloadKey): string {
  return `${key.environment}/${key.deployment}@${key.revision}`;
}
