/**
 * Request and response schemas of the REST API. The same zod schemas validate requests at the edge
 * and generate `/api/v1/openapi.json`, so the document cannot drift from what the server accepts.
 * Objects are strict: an unknown field is a 400 naming it (a typo must not be silently ignored).
 */
import { z } from '@hono/zod-openapi';
import { PoliciesUpdate, Region } from './policy-schemas.js';

/** DNS-label names, so they work as Kubernetes names and URL path segments unchanged. */
export const Name = z
  .string()
  .regex(
    /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/,
    'must be 1-63 lowercase letters, digits or "-", starting and ending with a letter or digit',
  )
  .openapi({ example: 'readmission' });

/** SemVer 2.0.0 (no leading "v", no leading zeros). */
export const SemVer = z
  .string()
  .regex(
    /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$/,
    'must be a semantic version like 1.4.0',
  )
  .openapi({ example: '1.0.0' });

const Labels = z.record(z.string(), z.string().max(253)).openapi({ example: { team: 'risk' } });

export const Resources = z
  .object({
    cpu: z.string().regex(/^\d+(\.\d+)?m?$/, "must be a CPU quantity like '500m' or '2'"),
    memory: z.string().regex(/^\d+(\.\d+)?(Ki|Mi|Gi|Ti|k|M|G|T)?$/, "must be a memory quantity like '512Mi'"),
    gpu: z.number().int().min(0).max(16),
    limits: z.object({ cpu: z.string(), memory: z.string() }).partial().strict().openapi({
      description:
        'Local runtime: memory enforced (OOMKilled above it), cpu caps the model server threads. Kubernetes: container limits.',
    }),
  })
  .partial()
  .strict();

// Shapes only: the rules (ranges, cron syntax, time zones, cross-field checks) are core's
// (`core/autoscaling/scaling-spec.ts`), which answers with the field and the rule.
const Schedule = z
  .object({
    name: z.string(),
    start: z.string().openapi({ example: '0 9 * * 1-5' }),
    end: z.string().openapi({ example: '0 18 * * 1-5' }),
    timezone: z.string().optional().openapi({ example: 'Europe/Berlin' }),
    min: z.number().int().optional(),
    max: z.number().int().optional(),
  })
  .strict();

export const Scaling = z
  .object({
    min: z.number().int().min(0).max(100),
    max: z.number().int().min(0).max(100),
    targetCPU: z.number().int().min(1).max(100),
    targetMemory: z.number().int().min(1).max(100),
    metric: z.enum(['concurrency', 'rps', 'cpu', 'memory', 'custom', 'queue']).openapi({
      description:
        'What to scale on; default concurrency (in-flight requests per replica); queue = messages waiting (workers).',
    }),
    target: z
      .number()
      .positive()
      .openapi({ description: 'Per-replica target of concurrency (default 10) or rps (default 50).' }),
    custom: z.object({ query: z.string(), target: z.number() }).strict(),
    queue: z
      .object({
        type: z.enum(['redis', 'rabbitmq', 'nats']),
        url: z.string(),
        name: z.string(),
        consumer: z.string().optional(),
        target: z.number(),
      })
      .strict()
      .openapi({
        description:
          'metric queue: a Redis list (LLEN), a RabbitMQ queue (messages ready) or a NATS JetStream consumer (pending + ack pending; consumer required), target messages per replica.',
      }),
    stableWindow: z.number(),
    panicWindow: z.number(),
    panicThreshold: z.number(),
    scaleDownDelay: z.number(),
    idleTimeout: z.number(),
    hold: z.object({ queue: z.number().int(), timeout: z.number() }).strict(),
    schedules: z.array(Schedule),
    predictive: z
      .object({
        enabled: z.boolean(),
        bucket: z.number().optional(),
        season: z.number().int().optional(),
        horizon: z.number().optional(),
      })
      .strict(),
  })
  .partial()
  .strict();

const Dependency = z
  .object({
    name: z.string(),
    http: z.string().optional(),
    tcp: z.string().optional(),
    interval: z.number().optional(),
    timeout: z.number().optional(),
  })
  .strict();

export const HealthCheck = z
  .object({
    path: z.string().startsWith('/', 'must start with "/"'),
    interval: z.number().positive().max(3600),
    timeout: z.number().positive().max(3600),
    retries: z.number().int().min(1).max(100),
    livenessPath: z.string(),
    startupTimeout: z.number().positive().max(3600),
    dependencies: z.array(Dependency),
  })
  .partial()
  .strict();

// Shapes only; the rules (names, sizes, one of value and secretRef) are core's (`core/env-spec.ts`).
const EnvVarInput = z.union([
  z.object({ name: z.string(), value: z.string() }).strict(),
  z
    .object({
      name: z.string(),
      secretRef: z.object({ name: z.string(), key: z.string(), version: z.number().int().min(1).optional() }).strict(),
    })
    .strict(),
]);
// Shapes only, like the others: the ranges are core's (`core/endpoint-access-spec.ts`).
export const EndpointAuth = z
  .object({
    required: z.boolean().openapi({
      description:
        'Protected endpoint: the gateway accepts only bearer tokens with scope infer:<environment> or infer:<environment>/<deployment>. null (in an update) opens it again.',
    }),
  })
  .partial()
  .strict();

export const RateLimit = z
  .object({
    requestsPerSecond: z.number().openapi({ description: "Refill rate of each caller's token bucket." }),
    burst: z.number().int().openapi({ description: 'Bucket size; default ceil(requestsPerSecond).' }),
    per: z.enum(['token', 'client']).openapi({
      description:
        "Whose requests share a bucket: 'token' (the caller's address without one; the default) or 'client' (the address).",
    }),
  })
  .partial()
  .strict()
  .openapi({
    description:
      "Answered 429 with Retry-After once a caller's bucket is empty. null (in an update) removes the limit.",
  });

export const Configuration = z
  .object({
    image: z.string().min(1).optional(),
    // Shapes only; the rules (ranges, which type may set which) are the workload kinds' (`workloads/command-spec.ts`).
    command: z.array(z.string()).optional().openapi({
      description: "application / worker: the program and its arguments, e.g. ['python3', 'app.py']",
    }),
    args: z.array(z.string()).nullable().optional().openapi({ description: '$(PORT) is replaced by the port' }),
    workingDir: z.string().nullable().optional().openapi({ description: "Relative to the bundle's root" }),
    port: z.number().nullable().optional().openapi({
      description: 'application on Kubernetes: the container port (default 8080); locally $PORT is assigned',
    }),
    protocol: z.enum(['http', 'oip']).nullable().optional(),
    healthCommand: z.array(z.string()).nullable().optional().openapi({
      description: 'worker: a command whose exit code 0 means alive',
    }),
    terminationGracePeriod: z.number().nullable().optional().openapi({
      description: 'Seconds after SIGTERM before SIGKILL (default 30)',
    }),
    env: z.array(EnvVarInput).max(100).optional().openapi({
      description:
        'Replica environment: { name, value } or { name, secretRef: { name, key } } (a secret of this environment)',
    }),
    replicas: z.number().int('must be an integer').min(0, 'must be at least 0').max(100, 'must be at most 100'),
    resources: Resources.optional(),
    scaling: Scaling.optional(),
    healthCheck: HealthCheck.optional(),
    auth: EndpointAuth.nullable().optional(),
    rateLimit: RateLimit.nullable().optional(),
  })
  .strict();

export const ModelReference = z.object({ name: Name, version: SemVer }).strict();
const PartialModelReference = z.object({ name: Name, version: SemVer }).partial().strict();
/** A pushed bundle (`wharf app push`) that an application's or worker's command runs inside. */
export const BundleReference = z.object({ name: Name, version: SemVer }).strict();
const PartialBundleReference = BundleReference.partial().strict();

const AnalysisRef = z
  .object({ template: Name, args: z.record(z.string(), z.union([z.string(), z.number()])).optional() })
  .strict();
const ReplicaAmount = z.union([
  z.number().int().min(0).max(100),
  z.string().regex(/^\d{1,3}%$/, "must be a percentage such as '25%'"),
]);
const RequestKey = { header: z.string().min(1).max(256).optional(), cookie: z.string().min(1).max(256).optional() };
const CanaryStep = z.union([
  z.object({ setWeight: z.number().int().min(0).max(100) }).strict(),
  z.object({ pause: z.object({ duration: z.union([z.number().min(0), z.string()]).optional() }).strict() }).strict(),
  z.object({ analysis: AnalysisRef }).strict(),
]);

/** The rollout strategy; the rules beyond shape (one sub-object per type, …) are `core/strategy.ts`'s. */
export const Strategy = z
  .object({
    type: z.enum(['recreate', 'rolling', 'blue-green', 'canary', 'shadow', 'ab']),
    rolling: z
      .object({ maxSurge: ReplicaAmount.optional(), maxUnavailable: ReplicaAmount.optional() })
      .strict()
      .optional(),
    blueGreen: z
      .object({
        autoPromote: z.boolean().optional(),
        analysis: AnalysisRef.optional(),
        scaleDownDelaySeconds: z.number().min(0).max(86_400).optional(),
      })
      .strict()
      .optional(),
    canary: z
      .object({
        steps: z.array(CanaryStep).min(1).max(50),
        analysis: AnalysisRef.optional(),
        scaleDownDelaySeconds: z.number().min(0).max(86_400).optional(),
      })
      .strict()
      .optional(),
    shadow: z
      .object({
        percent: z.number().min(0).max(100).optional(),
        tolerance: z.number().min(0).optional(),
        minAgreementRate: z.number().min(0).max(1).optional(),
        maxErrorRateDelta: z.number().min(0).max(1).optional(),
        minCompared: z.number().int().min(1).optional(),
      })
      .strict()
      .optional(),
    ab: z
      .object({
        weight: z.number().min(0).max(100).optional(),
        match: z
          .object({ ...RequestKey, value: z.string().min(1) })
          .strict()
          .optional(),
        sticky: z.object(RequestKey).strict().optional(),
      })
      .strict()
      .optional(),
  })
  .strict()
  .openapi('Strategy');

const Metadata = z.object({ project: z.string().max(63).optional(), labels: Labels.optional() }).strict();

/** POST /api/v1/deployments */
export const DeploymentCreate = z
  .object({
    name: Name,
    environment: Name,
    type: z.enum(['model', 'application', 'worker']).default('model').openapi({
      description:
        'model: an ONNX model; application: any HTTP server run by a command; worker: a command with no port',
    }),
    // Required for type model, refused for the others: the workload kinds say so, naming the field.
    model: ModelReference.optional(),
    bundle: BundleReference.optional(),
    configuration: Configuration.partial().strict().optional(),
    strategy: Strategy.optional(),
    metadata: Metadata.optional(),
    reason: z.string().max(500).optional(),
  })
  .strict()
  .openapi('DeploymentCreate');

/** PATCH /api/v1/environments/{env}/deployments/{name}: any spec part; the rest stays. */
export const DeploymentUpdate = z
  .object({
    model: PartialModelReference.optional(),
    bundle: PartialBundleReference.optional(),
    configuration: Configuration.partial().strict().optional(),
    strategy: Strategy.optional(),
    metadata: Metadata.optional(),
    /** Optimistic concurrency: the resourceVersion the caller read; a stale one gets 409. */
    resourceVersion: z.number().int().positive().optional(),
    reason: z.string().max(500).optional(),
  })
  .strict()
  .openapi('DeploymentUpdate');

/** POST …/promote: the next step, or every remaining step with `full`. */
export const Promote = z
  .object({ full: z.boolean().optional(), reason: z.string().max(500).optional() })
  .strict()
  .openapi('Promote');

/** POST …/abort and …/retry. */
export const RolloutCommand = z
  .object({ reason: z.string().max(500).optional() })
  .strict()
  .openapi('RolloutCommand');

/** POST /api/v1/deployments/{name}/promotions: the exact revision of one environment into another. */
export const EnvironmentPromotion = z
  .object({ from: Name, to: Name, reason: z.string().max(500).optional() })
  .strict()
  .openapi('EnvironmentPromotion');

/** POST …/feedback: the outcome of one served request, for A/B results. */
export const FeedbackInput = z
  .object({
    requestId: z.string().min(1).max(200),
    outcome: z.union([z.number(), z.boolean()]),
    revision: z.number().int().positive().optional(),
  })
  .strict()
  .openapi('Feedback');

/** PATCH /api/v1/environments/{name}. */
export const EnvironmentUpdate = z
  .object({
    policies: PoliciesUpdate.optional(),
    region: Region.nullable().optional(),
    /** The environment this one stands in for (disaster recovery); null: none. */
    failoverFor: z.string().min(1).max(63).nullable().optional(),
  })
  .strict()
  .openapi('EnvironmentUpdate');

/** POST /api/v1/environments/{environment}/policy-test: a deployment document, as `apply` sends it. */
export const PolicyTestRequest = DeploymentCreate.omit({ environment: true, model: true, reason: true })
  .extend({
    environment: z.string().optional(),
    model: PartialModelReference.optional(),
    bundle: PartialBundleReference.optional(),
  })
  .strict()
  .openapi('PolicyTestRequest');

/** POST /api/v1/approvals/{id}/approve|reject. */
export const ApprovalDecision = z
  .object({ comment: z.string().max(1000).optional() })
  .strict()
  .openapi('ApprovalDecision');

export const Scale = z
  .object({ replicas: Configuration.shape.replicas, reason: z.string().max(500).optional() })
  .strict()
  .openapi('Scale');

export const Rollback = z
  .object({ toRevision: z.number().int().positive().optional(), reason: z.string().max(500).optional() })
  .strict()
  .openapi('Rollback');

export const Pagination = z.object({
  limit: z.coerce.number().int().min(1).max(500).default(100),
  continue: z.string().max(500).optional(),
});

export const ErrorBody = z
  .object({
    error: z.object({
      code: z.string(),
      message: z.string(),
      field: z.string().optional(),
      details: z.array(z.object({ field: z.string(), message: z.string() })).optional(),
    }),
  })
  .openapi('Error');
