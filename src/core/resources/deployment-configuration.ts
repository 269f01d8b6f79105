/**
 * How a deployment runs: the configuration part of its spec (replicas, resources, autoscaling and
 * health checks), which users edit most. Pure types; the rules are in `core/deployment-spec.ts`,
 * `core/autoscaling/scaling-spec.ts` and `core/health-check-spec.ts`.
 */

/** How a deployment runs: the part of the spec users edit most. */
export interface DeploymentConfiguration {
  /** Container image, for `type: application` / `worker` on Kubernetes. */
  image?: string;
  /**
   * `application` / `worker`: the program and its arguments. `$(PORT)` in an argument is replaced
   * by the port the replica must listen on, which it also finds in `$PORT`.
   */
  command?: string[];
  args?: string[];
  /** Relative to the bundle's root (or the image's working directory). */
  workingDir?: string;
  /**
   * `application`: the port the container listens on (Kubernetes; default 8080). The local runtime
   * gives each replica a free port in `$PORT` instead, since replicas share one machine.
   */
  port?: number;
  /** `application`: `oip` marks a custom model server speaking the Open Inference Protocol (output comparison in shadows). Default `http`. */
  protocol?: ApplicationProtocol;
  /** `worker`: a command whose exit code 0 means alive, run every `healthCheck.interval`; without it liveness is the process itself. */
  healthCommand?: string[];
  /** Seconds a replica has after SIGTERM to finish the work at hand before SIGKILL (default 30). */
  terminationGracePeriod?: number;
  replicas: number;
  /** Per replica, Kubernetes quantities: `cpu: '500m'`, `memory: '512Mi'`, `gpu: 0`; optional limits. */
  resources: { cpu: string; memory: string; gpu: number; limits?: { cpu?: string; memory?: string } };
  /** Autoscaling: bounds, the metric and its target, windows, scale to zero, schedules, forecast. */
  scaling: ScalingSpec;
  /** HTTP probe; `interval` and `timeout` are in seconds. */
  healthCheck: HealthCheckSpec;
  /** Environment variables of the replicas: plain values or items of secrets (see `core/env-spec.ts`). */
  env?: EnvVar[];
  /** Protected endpoint: the gateway accepts only bearer tokens scoped to the deployment or its environment. Default: open. */
  auth?: EndpointAuthSpec;
  /** Token-bucket rate limit applied by the gateway. Default: none. */
  rateLimit?: RateLimitSpec;
}

/** One environment variable: a plain value, or an item of a secret in the deployment's environment. */
export type EnvVar = { name: string; value: string } | { name: string; secretRef: SecretKeyRef };

/** An item of a secret; `version` is pinned by the server when the revision is made. */
export interface SecretKeyRef {
  name: string;
  key: string;
  version?: number;
}

/** Whether the gateway asks callers of the deployment for a bearer token (`infer:<env>` or `infer:<env>/<name>` scope). */
export interface EndpointAuthSpec {
  required: boolean;
}

/** Whose requests share one bucket: the caller's token (its address when it sends none), or the caller's address. */
export type RateLimitKey = 'token' | 'client';

/**
 * A token bucket per caller: `burst` requests at once, refilled at `requestsPerSecond`; a request
 * that finds the bucket empty is answered 429 with `Retry-After`.
 */
export interface RateLimitSpec {
  requestsPerSecond: number;
  /** Bucket size; default `ceil(requestsPerSecond)` (at least 1). */
  burst?: number;
  /** Default `token`. */
  per?: RateLimitKey;
}

/** What an application speaks: plain HTTP, or the Open Inference Protocol. */
export type ApplicationProtocol = 'http' | 'oip';

/**
 * What the autoscaler scales on. Per replica: in-flight requests, requests/s, CPU % or memory % of
 * the request; `custom` = a PromQL value; `queue` = messages waiting in a queue (workers).
 */
export type ScalingMetric = 'concurrency' | 'rps' | 'cpu' | 'memory' | 'custom' | 'queue';

/**
 * `metric: queue`: the depth of a Redis list (`LLEN name`), a RabbitMQ queue (messages ready) or
 * a NATS JetStream consumer (pending + ack pending), divided by `target` messages per replica.
 * With `min: 0` the deployment scales to zero when the queue is empty and back at the first message.
 */
export interface QueueScaling {
  type: 'redis' | 'rabbitmq' | 'nats';
  /** `redis://host:6379/0`, `amqp://user:pass@host:5672/vhost`, `nats://host:4222`. */
  url: string;
  /** The list (Redis), queue (RabbitMQ) or stream (NATS). */
  name: string;
  /** NATS: the durable consumer whose pending messages count. */
  consumer?: string;
  /** Messages per replica. */
  target: number;
}

/**
 * Autoscaling of a deployment. `min == max` means a fixed size (no autoscaler). All durations are
 * in seconds. `targetCPU` / `targetMemory` are percent of the requested cpu / memory, the HPA's
 * meaning, used when `metric` is `cpu` / `memory` (and by the Kubernetes runtime's HPA).
 */
export interface ScalingSpec {
  min: number;
  max: number;
  targetCPU: number;
  targetMemory: number;
  /** Default `concurrency`. */
  metric?: ScalingMetric;
  /** Per-replica target of `concurrency` (default 10) or `rps` (default 50). */
  target?: number;
  /** `metric: custom`: a PromQL query whose value is divided by `target` per replica. */
  custom?: { query: string; target: number };
  /** `metric: queue`: the queue whose depth is divided by its `target` per replica. */
  queue?: QueueScaling;
  /** Averaging window of normal decisions (default 60). */
  stableWindow?: number;
  /** Short window that reacts to bursts (default 3). */
  panicWindow?: number;
  /** Enter panic mode when the panic window wants at least this multiple of the current replicas (default 2). */
  panicThreshold?: number;
  /** Scale down only to the highest recommendation of this trailing period (default 300). */
  scaleDownDelay?: number;
  /** With `min: 0`: seconds without requests before scaling to zero (default 300). */
  idleTimeout?: number;
  /** With `min: 0`: the gateway's hold queue while the first replica starts. */
  hold?: { queue: number; timeout: number };
  /** Time windows with other bounds, e.g. business hours; the first active one wins. */
  schedules?: ScalingSchedule[];
  /** Pre-scale from a forecast of the request rate. */
  predictive?: PredictiveScaling;
}

/** A cron-bounded window (5-field cron, `timezone` an IANA name, default UTC) with its own min/max. */
export interface ScalingSchedule {
  name: string;
  /** The window opens at each firing of `start` and closes at the next firing of `end`. */
  start: string;
  end: string;
  timezone?: string;
  min?: number;
  max?: number;
}

/** Holt-Winters forecast of requests/s over buckets of `bucket` seconds, with a season of `season` buckets. */
export interface PredictiveScaling {
  enabled: boolean;
  /** Seconds per history bucket (default 60). */
  bucket?: number;
  /** Buckets per season (default 1440: one day of minutes); 0 = no seasonality (Holt's linear trend). */
  season?: number;
  /** How far ahead to provision, seconds (default 120: longer than a replica takes to start). */
  horizon?: number;
}

/** Probing of a deployment's replicas (seconds) and what it depends on. */
export interface HealthCheckSpec {
  /** Readiness path (model servers: the Open Inference Protocol's ready endpoint, `protocol/oip-paths.ts`). */
  path: string;
  interval: number;
  timeout: number;
  retries: number;
  /** Liveness path; default the model server's live endpoint (`protocol/oip-paths.ts`; application deployments: `path`). */
  livenessPath?: string;
  /** Seconds a new replica has to pass its first readiness check before it is restarted (default 300). */
  startupTimeout?: number;
  /** External services the deployment needs; while one fails, it is not ready. */
  dependencies?: DependencyCheck[];
}

/** An HTTP (`http: URL`, GET passes on 2xx/3xx) or TCP (`tcp: 'host:port'`) dependency. */
export interface DependencyCheck {
  name: string;
  http?: string;
  tcp?: string;
  /** Seconds; default the health check's. */
  interval?: number;
  timeout?: number;
}
