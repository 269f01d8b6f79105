/**
 * Request and response schemas of the REST API. The same zod schemas validate requests at the edge
 * and generate `/api/v1/openapi.json`, so the document cannot drift from what the server accepts.
 * Objects are strict: an unknown field is a 400 naming it (a typo must not be silently ignored).
 */
import { z } from '@hono/zod-openapi';

/** DNS-label names, so they work as Kubernetes names and URL path segments unchanged. */
export const Name = z
  .string()
  .regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, 'must be 1-63 lowercase letters, digits or "-", starting and ending with a letter or digit')
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
    memory: z.string().regex(/^\d+(Ki|Mi|Gi|Ti|k|M|G|T)?$/, "must be a memory quantity like '512Mi'"),
    gpu: z.number().int().min(0).max(16),
  })
  .partial()
  .strict();

export const Scaling = z
  .object({
    min: z.number().int().min(0).max(100),
    max: z.number().int().min(0).max(100),
    targetCPU: z.number().int().min(1).max(100),
    targetMemory: z.number().int().min(1).max(100),
  })
  .partial()
  .strict();

export const HealthCheck = z
  .object({
    path: z.string().startsWith('/', 'must start with "/"'),
    interval: z.number().positive().max(3600),
    timeout: z.number().positive().max(3600),
    retries: z.number().int().min(1).max(100),
  })
  .partial()
  .strict();

export const Configuration = z
  .object({
    image: z.string().min(1).optional(),
    replicas: z.number().int('must be an integer').min(0, 'must be at least 0').max(100, 'must be at most 100'),
    resources: Resources.optional(),
    scaling: Scaling.optional(),
    healthCheck: HealthCheck.optional(),
  })
  .strict();

export const ModelReference = z.object({ name: Name, version: SemVer }).strict();
const PartialModelReference = z.object({ name: Name, version: SemVer }).partial().strict();

export const Strategy = z
  .object({
    type: z.enum(['recreate', 'rolling', 'blue-green', 'canary', 'shadow', 'ab']),
    options: z.record(z.string(), z.unknown()).optional(),
  })
  .strict();

const Metadata = z.object({ project: z.string().max(63).optional(), labels: Labels.optional() }).strict();

/** POST /api/v1/deployments */
export const DeploymentCreate = z
  .object({
    name: Name,
    environment: Name,
    type: z.enum(['model', 'application']).default('model'),
    model: ModelReference,
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
    configuration: Configuration.partial().strict().optional(),
    strategy: Strategy.optional(),
    metadata: Metadata.optional(),
    /** Optimistic concurrency: the resourceVersion the caller read; a stale one gets 409. */
    resourceVersion: z.number().int().positive().optional(),
    reason: z.string().max(500).optional(),
  })
  .strict()
  .openapi('DeploymentUpdate');

export const Scale = z.object({ replicas: Configuration.shape.replicas, reason: z.string().max(500).optional() }).strict().openapi('Scale');

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
