/**
 * Response schemas of what a deployment's spec and status hold (strategy, scaling, health check,
 * conditions, rollout status and requests), as the API sends them: parts of the resource schemas
 * in `resource-schemas.ts`. Each is checked at compile time against its core type in both
 * directions ({@link Exact}). Imports only zod and core types.
 */
import { z } from 'zod';
import type { Condition, DeploymentSpec } from '../core/resources.js';
import type { RolloutRequest, RolloutStatus } from '../core/rollout/rollout-types.js';
import type { StrategySpec } from '../core/strategy.js';

/** True when `A` and `B` are assignable both ways; the checks below fail to compile otherwise. */
export type Exact<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
/** Compiles only for `true`: `exact<Exact<z.infer<typeof X>, CoreX>>()`. */
export const exact = <T extends true>(): T | undefined => undefined;

export const Labels = z.record(z.string(), z.string());

const AnalysisRef = z.object({
  template: z.string(),
  args: z.record(z.string(), z.union([z.string(), z.number()])).optional(),
});
const ReplicaAmount = z.union([z.number(), z.string()]);
const RequestKey = { header: z.string().optional(), cookie: z.string().optional() };

export const StrategyBody = z.object({
  type: z.enum(['recreate', 'rolling', 'blue-green', 'canary', 'shadow', 'ab']),
  rolling: z.object({ maxSurge: ReplicaAmount.optional(), maxUnavailable: ReplicaAmount.optional() }).optional(),
  blueGreen: z
    .object({
      autoPromote: z.boolean().optional(),
      analysis: AnalysisRef.optional(),
      scaleDownDelaySeconds: z.number().optional(),
    })
    .optional(),
  canary: z
    .object({
      steps: z.array(
        z.union([
          z.object({ setWeight: z.number() }),
          z.object({ pause: z.object({ duration: z.union([z.number(), z.string()]).optional() }) }),
          z.object({ analysis: AnalysisRef }),
        ]),
      ),
      analysis: AnalysisRef.optional(),
      scaleDownDelaySeconds: z.number().optional(),
    })
    .optional(),
  shadow: z
    .object({
      percent: z.number().optional(),
      tolerance: z.number().optional(),
      minAgreementRate: z.number().optional(),
      maxErrorRateDelta: z.number().optional(),
      minCompared: z.number().optional(),
      methods: z.array(z.string()).optional(),
    })
    .optional(),
  ab: z
    .object({
      weight: z.number().optional(),
      match: z.object({ ...RequestKey, value: z.string() }).optional(),
      sticky: z.object(RequestKey).optional(),
    })
    .optional(),
});
exact<Exact<z.infer<typeof StrategyBody>, StrategySpec>>();

export const ScalingMetricBody = z.enum(['concurrency', 'rps', 'cpu', 'memory', 'custom', 'queue']);
export const ScheduleBody = z.object({
  name: z.string(),
  start: z.string(),
  end: z.string(),
  timezone: z.string().optional(),
  min: z.number().optional(),
  max: z.number().optional(),
});
const Hold = z.object({ queue: z.number(), timeout: z.number() });
/** `scaling.queue` (metric queue): the broker, the queue and the messages per replica. */
export const QueueScalingBody = z.object({
  type: z.enum(['redis', 'rabbitmq', 'nats']),
  url: z.string(),
  name: z.string(),
  consumer: z.string().optional(),
  target: z.number(),
});

const ScalingBody = z.object({
  min: z.number(),
  max: z.number(),
  targetCPU: z.number(),
  targetMemory: z.number(),
  metric: ScalingMetricBody.optional(),
  target: z.number().optional(),
  custom: z.object({ query: z.string(), target: z.number() }).optional(),
  queue: QueueScalingBody.optional(),
  stableWindow: z.number().optional(),
  panicWindow: z.number().optional(),
  panicThreshold: z.number().optional(),
  scaleDownDelay: z.number().optional(),
  idleTimeout: z.number().optional(),
  hold: Hold.optional(),
  schedules: z.array(ScheduleBody).optional(),
  predictive: z
    .object({
      enabled: z.boolean(),
      bucket: z.number().optional(),
      season: z.number().optional(),
      horizon: z.number().optional(),
    })
    .optional(),
});

const HealthCheckBody = z.object({
  path: z.string(),
  interval: z.number(),
  timeout: z.number(),
  retries: z.number(),
  livenessPath: z.string().optional(),
  startupTimeout: z.number().optional(),
  dependencies: z
    .array(
      z.object({
        name: z.string(),
        http: z.string().optional(),
        tcp: z.string().optional(),
        interval: z.number().optional(),
        timeout: z.number().optional(),
      }),
    )
    .optional(),
});

export const ModelReference = z.object({ name: z.string(), version: z.string() });

export const BundleReference = z.object({ name: z.string(), version: z.string() });

export const DeploymentSpecBody = z.object({
  type: z.enum(['model', 'application', 'worker']),
  model: ModelReference.optional(),
  bundle: BundleReference.optional(),
  configuration: z.object({
    image: z.string().optional(),
    command: z.array(z.string()).optional(),
    args: z.array(z.string()).optional(),
    workingDir: z.string().optional(),
    port: z.number().optional(),
    protocol: z.enum(['http', 'oip']).optional(),
    healthCommand: z.array(z.string()).optional(),
    terminationGracePeriod: z.number().optional(),
    env: z
      .array(
        z.union([
          z.object({ name: z.string(), value: z.string() }),
          z.object({
            name: z.string(),
            secretRef: z.object({ name: z.string(), key: z.string(), version: z.number().optional() }),
          }),
        ]),
      )
      .optional(),
    replicas: z.number(),
    resources: z.object({
      cpu: z.string(),
      memory: z.string(),
      gpu: z.number(),
      limits: z.object({ cpu: z.string().optional(), memory: z.string().optional() }).optional(),
    }),
    scaling: ScalingBody,
    healthCheck: HealthCheckBody,
    auth: z.object({ required: z.boolean() }).optional(),
    rateLimit: z
      .object({
        requestsPerSecond: z.number(),
        burst: z.number().optional(),
        per: z.enum(['token', 'client']).optional(),
      })
      .optional(),
  }),
  strategy: StrategyBody,
});
exact<Exact<z.infer<typeof DeploymentSpecBody>, DeploymentSpec>>();

export const ConditionBody = z.object({
  type: z.string(),
  status: z.enum(['True', 'False', 'Unknown']),
  reason: z.string(),
  message: z.string(),
  lastTransitionTime: z.string(),
});
exact<Exact<z.infer<typeof ConditionBody>, Condition>>();

const AnalysisRunView = z.object({
  phase: z.enum(['running', 'successful', 'failed', 'inconclusive', 'error']),
  message: z.string().optional(),
  onInconclusive: z.enum(['pause', 'fail', 'pass']).optional(),
});
const NamedValue = z.object({ name: z.string(), value: z.string() });

export const RolloutStatusBody = z.object({
  revision: z.number(),
  stable: z.number().optional(),
  canary: z.number().optional(),
  strategy: StrategyBody.shape.type,
  phase: z.enum(['Progressing', 'Paused', 'Healthy', 'Aborted']),
  stepIndex: z.number(),
  weight: z.number(),
  stepStartedAt: z.string().optional(),
  analysis: AnalysisRunView.optional(),
  backgroundAnalysis: AnalysisRunView.optional(),
  analysisStep: z.number().optional(),
  retiring: z.array(z.object({ revision: z.number(), replicas: z.number(), removeAt: z.string() })).readonly(),
  handledRequest: z.number(),
  traffic: z.object({
    targets: z.array(z.object({ revision: z.number(), weight: z.number() })).readonly(),
    mirror: z.object({ revision: z.number(), percent: z.number(), tolerance: z.number().optional() }).optional(),
    matches: z
      .array(z.object({ header: NamedValue.optional(), cookie: NamedValue.optional(), revision: z.number() }))
      .readonly()
      .optional(),
    sticky: z.object(RequestKey).optional(),
    preview: z.number().optional(),
  }),
  abortReason: z.string().optional(),
  shadow: z
    .object({
      mirrored: z.number(),
      compared: z.number(),
      agreementRate: z.number().optional(),
      meanAbsoluteDifference: z.number().optional(),
      latencyDeltaSeconds: z.number().optional(),
      errorRateDelta: z.number().optional(),
    })
    .optional(),
  message: z.string(),
});
exact<Exact<z.infer<typeof RolloutStatusBody>, RolloutStatus>>();

export const RolloutRequestBody = z.object({
  id: z.number(),
  action: z.enum(['promote', 'promote-full', 'abort', 'retry']),
  revision: z.number(),
  by: z.string(),
  at: z.string(),
});
exact<Exact<z.infer<typeof RolloutRequestBody>, RolloutRequest>>();
