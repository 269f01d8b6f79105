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

/**
 * Startup probing: until the replica first passes it, readiness and liveness do not run and the
 * replica is `starting`; a replica that has not passed it within `timeoutMs` of its start is
 * killed and restarted (reason `StartupTimeout`). While starting it is probed every `intervalMs`
 * (short, so a new replica takes traffic within a probe interval of being able to).
 */
export interface StartupProbeSpec {
  readonly path: string;
  readonly intervalMs: number;
  /** Per probe attempt. */
  readonly probeTimeoutMs: number;
  /** Time from process start until the first pass; then the replica is restarted. */
  readonly timeoutMs: number;
}

/**
 * Something a workload needs in order to serve (a feature store, a database): checked by the
 * engine; while it fails, every replica of the workload is unready (out of rotation) and the
 * workload's `DependenciesReady` condition says which dependency failed and why.
 */
export interface DependencySpec {
  /** A DNS-label name shown in conditions, e.g. `feature-store`. */
  readonly name: string;
  /** Exactly one of `http` (GET, 2xx/3xx passes) and `tcp` (a connection opens). */
  readonly http?: { readonly url: string };
  readonly tcp?: { readonly host: string; readonly port: number };
  readonly intervalMs: number;
  readonly timeoutMs: number;
  /** Consecutive failures before the dependency counts as failed. */
  readonly retries: number;
}

/** Resource requests and limits of one replica, Kubernetes quantities (`500m`, `512Mi`). */
export interface WorkloadResources {
  /** Requests: what the replica is expected to use (autoscaling CPU % is relative to `cpu`). */
  readonly cpu?: string;
  readonly memory?: string;
  readonly gpu?: number;
  /**
   * Limits. Local runtime: a replica whose memory (RSS of its process group) goes above
   * `memory` is killed and reported `OOMKilled`; `cpu` caps the model server's threads (and a
   * cgroup quota where one can be written). Kubernetes: container limits.
   */
  readonly limits?: { readonly cpu?: string; readonly memory?: string };
}

/** Measured use of one replica's processes. */
export interface ReplicaUsage {
  readonly replica: string;
  /** CPU cores used on average since the previous sample of this replica (0 on the first). */
  readonly cpuCores: number;
  /** Resident memory of the replica's processes, bytes. */
  readonly memoryBytes: number;
  /** `Date.now()` of the sample. */
  readonly time: number;
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
  /**
   * A program started by a command (type: application, worker). An application must listen on
   * `$PORT`; `$(PORT)` in an argument is replaced by it. `workingDir` is relative to the bundle's
   * root when there is a bundle.
   */
  readonly command?: { readonly argv: readonly string[]; readonly workingDir?: string };
  /** Local code the command runs inside: a tarball the engine unpacks once per digest (verified). */
  readonly bundle?: { readonly artifactPath: string; readonly digest: string };
  /** Kubernetes: the container port of an application (default 8080); the local runtime assigns ports itself. */
  readonly port?: number;
  /**
   * `none` for a worker: it listens on no port, has no endpoint and no HTTP probes; it is ready
   * while its process runs (and its `healthCommand` passes). Default `http`.
   */
  readonly serves?: 'http' | 'none';
  /** Workers: an exec liveness probe (exit code 0 = alive), with the timing of `liveness`. */
  readonly healthCommand?: { readonly argv: readonly string[] };
  /** Time a replica gets after SIGTERM before SIGKILL (default: the engine's). */
  readonly terminationGracePeriodMs?: number;
  readonly env?: Readonly<Record<string, string>>;
  readonly resources?: WorkloadResources;
  readonly readiness: ProbeSpec;
  readonly liveness: ProbeSpec;
  /** Without it, liveness failures are ignored for `liveness.startupGraceMs` (the older rule). */
  readonly startup?: StartupProbeSpec;
  readonly dependencies?: readonly DependencySpec[];
  readonly labels?: Readonly<Record<string, string>>;
  /** Autoscaling bounds, targets in percent of requests (Kubernetes: an HPA); engines without autoscaling ignore it. */
  readonly scaling?: {
    readonly min: number;
    readonly max: number;
    readonly targetCPU: number;
    readonly targetMemory: number;
  };
  /** Container image of an application workload (Kubernetes); model workloads run the engine's Wharf image. */
  readonly image?: string;
  /**
   * Environment variables read from secrets of the workload's environment: variable name → secret
   * name, key and the version the revision pinned (never the value). Engines resolve them when a
   * replica starts (local: the resolver given at construction; Kubernetes: a Secret and
   * `secretKeyRef`).
   */
  readonly secretEnv?: Readonly<Record<string, SecretEnvRef>>;
}

/** Where one environment variable's value comes from: an item of a secret. */
export interface SecretEnvRef {
  readonly secret: string;
  readonly key: string;
  /** The secret's version the revision pinned; absent: the current one. */
  readonly version?: number;
}

/**
 * Reads one item of a secret for a replica's environment (the server wires it to the secrets
 * service; engines may not import services). Rejects naming the secret and key, never a value.
 */
export type SecretResolver = (environment: string, secret: string, key: string, version?: number) => Promise<string>;

/**
 * Reads every item of one version of a secret (the Kubernetes runtime writes them to an immutable
 * Secret per version). Wired by the server like {@link SecretResolver}.
 */
export type SecretVersionReader = (
  environment: string,
  secret: string,
  version: number,
) => Promise<Record<string, string>>;

/** One replica as the engine sees it. */
export interface ReplicaStatus {
  readonly id: string;
  /** Base URL the gateway forwards to, once known. */
  readonly endpoint?: string;
  readonly phase: 'starting' | 'ready' | 'unready' | 'crashed' | 'stopping';
  readonly restarts: number;
  readonly message?: string;
  /**
   * Why the last process of this replica ended, when the engine knows: `OOMKilled` (memory limit),
   * `LivenessFailed`, `StartupTimeout`, `Error` (exited on its own), `Completed` (exit code 0).
   */
  readonly lastTermination?: { readonly reason: string; readonly message: string; readonly time: string };
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
  /** {@link Runtime.usage} reports measured CPU and memory per replica. */
  readonly usage: boolean;
  /** {@link Runtime.onChange} tells when a replica's phase or endpoint changes. */
  readonly changeNotifications: boolean;
  /**
   * Fields of a {@link Workload} this engine cannot honour, each with why (e.g. local: `image`,
   * which only a container engine can run). A workload that sets one is refused (the wrapper in
   * `runtime-lifecycle.ts` rejects its `apply`; the deployment reconciler reports a
   * `RuntimeCapable: False` condition) instead of running without it.
   */
  readonly unsupportedFields: UnsupportedFields;
}

/** Field of a {@link Workload} → why the engine cannot honour it (see {@link RuntimeCapabilities.unsupportedFields}). */
export type UnsupportedFields = Readonly<Partial<Record<keyof Workload, string>>>;

/**
 * Which workloads {@link Runtime.list} returns: those of `environment`, of `deployment` (within
 * `environment` when both are given). Empty: every workload the engine runs.
 */
export interface WorkloadSelector {
  readonly environment?: string;
  readonly deployment?: string;
}

/** True when `key` is one of the workloads `selector` selects. */
export function selects(selector: WorkloadSelector, key: WorkloadKey): boolean {
  return (
    (selector.environment === undefined || selector.environment === key.environment) &&
    (selector.deployment === undefined || selector.deployment === key.deployment)
  );
}

/**
 * The fields of `workload` that an engine with `capabilities` would not honour (set, and not
 * empty), as `field: why` lines; [] when it can run the workload as described.
 */
export function unhonouredFields(workload: Workload, capabilities: RuntimeCapabilities): string[] {
  const out: string[] = [];
  for (const [field, why] of Object.entries(capabilities.unsupportedFields) as [keyof Workload, string][]) {
    const value: unknown = workload[field];
    const empty =
      value === undefined ||
      (Array.isArray(value) && value.length === 0) ||
      (typeof value === 'object' && value !== null && !Array.isArray(value) && Object.keys(value).length === 0);
    if (!empty) out.push(`${field}: ${why}`);
  }
  return out;
}

/** An execution engine. */
export interface Runtime {
  readonly name: string;
  readonly capabilities: RuntimeCapabilities;
  /**
   * Makes the workload's replicas exist as described; returns once the change is under way. Under
   * a key that runs, only `replicas`, `labels` and `scaling` may change (in place, keeping the
   * replicas); any other change is a new revision with its own key.
   */
  apply(workload: Workload): Promise<void>;
  /** What runs for `key`, or undefined when nothing does. */
  observe(key: WorkloadKey): Promise<WorkloadStatus | undefined>;
  /**
   * The workloads `selector` selects (default: every workload the engine runs, e.g. to find strays
   * after a restart). Callers pass the narrowest selector they can: engines filter where it is
   * cheap (Kubernetes: label selectors on a list+watch cache).
   */
  list(selector?: WorkloadSelector): Promise<WorkloadStatus[]>;
  /** Stops and deletes everything of the workload: ready replicas are drained first. */
  remove(key: WorkloadKey): Promise<void>;
  logs(key: WorkloadKey, options?: LogOptions): AsyncIterable<LogLine>;
  /** CPU and memory of each running replica of `key` (capability `usage`); [] when nothing runs. */
  usage?(key: WorkloadKey): Promise<ReplicaUsage[]>;
  /**
   * Calls `listener` (soon, not necessarily at once; coalescing is allowed) after a replica of
   * `key` changed phase or endpoint, so routes can follow without waiting for a poll
   * (capability `changeNotifications`). Returns the unsubscribe function.
   */
  onChange?(listener: (key: WorkloadKey) => void): () => void;
  /**
   * The name and capabilities of the engine that runs `key` (a router answers for the engine of
   * the key's environment); without it, the runtime's own.
   */
  engineFor?(key: WorkloadKey): Promise<Pick<Runtime, 'name' | 'capabilities'>>;
  /** Releases the engine's own resources; running replicas are stopped unless `keepReplicas`. */
  close(options?: { keepReplicas?: boolean }): Promise<void>;
}

/** The canonical string form of a key, e.g. `production/readmission@3`. */
export function workloadKeyString(key: WorkloadKey): string {
  return `${key.environment}/${key.deployment}@${key.revision}`;
}
