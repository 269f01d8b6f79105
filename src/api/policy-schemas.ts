/**
 * Schemas of environment policies (`EnvironmentPolicies`): the request body that sets them
 * (`PATCH /api/v1/environments/{name}`, where `null` removes a rule), what an environment answers
 * with, and the dry run's request and answer (`POST /api/v1/environments/{environment}/policy-test`).
 */
import { z } from '@hono/zod-openapi';
import { isPositiveCpu, isPositiveMemory } from '../core/quantities.js';
import { METRIC_OPERATORS } from '../core/resources.js';

const LABEL_KEY = /^[A-Za-z0-9]([-A-Za-z0-9_./]*[A-Za-z0-9])?$/;

const MetricRequirement = z
  .object({
    metric: z.string().regex(/^[A-Za-z_][A-Za-z0-9_.:-]{0,62}$/, 'must be a metric name such as auc'),
    operator: z.enum(METRIC_OPERATORS),
    value: z.number().finite(),
  })
  .strict()
  .openapi('MetricRequirement', { example: { metric: 'auc', operator: '>=', value: 0.8 } });

const Quota = z
  .object({
    replicas: z.number().int().min(0).optional(),
    cpu: z.string().refine(isPositiveCpu, 'must be a CPU quantity above 0, such as 8 or 4500m').optional(),
    memory: z.string().refine(isPositiveMemory, 'must be a memory quantity above 0, such as 16Gi').optional(),
    gpu: z.number().int().min(0).optional(),
  })
  .strict()
  .openapi('EnvironmentQuota');

const Patterns = z.array(z.string().min(1).max(253)).max(100);
const RequiredLabels = z.record(
  z.string().max(63).regex(LABEL_KEY, 'must be a label key such as validated'),
  z.string().max(256),
);

/** An environment's policies as stored and answered. */
export const PoliciesBody = z.object({
  requiresApproval: z.boolean(),
  requiredLabels: z.record(z.string(), z.string()).optional(),
  requiredMetrics: z.array(MetricRequirement).optional(),
  quota: Quota.optional(),
  allowedModels: z.array(z.string()).optional(),
  allowedImages: z.array(z.string()).optional(),
});

/** The policies a PATCH sets: each field optional, `null` removes that rule. */
export const PoliciesUpdate = z
  .object({
    requiresApproval: z.boolean().optional(),
    requiredLabels: RequiredLabels.nullable().optional(),
    requiredMetrics: z.array(MetricRequirement).max(64).nullable().optional(),
    quota: Quota.nullable().optional(),
    allowedModels: Patterns.nullable().optional(),
    allowedImages: Patterns.nullable().optional(),
  })
  .strict();

/** A region name, e.g. `eu-west-1`. */
export const Region = z
  .string()
  .regex(
    /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/,
    'must be a region name such as eu-west-1 (lowercase letters, digits, -)',
  );

/** One broken rule. */
export const PolicyViolationBody = z
  .object({ policy: z.string(), rule: z.string(), message: z.string() })
  .openapi('PolicyViolation');

/** What the dry run answers. */
export const PolicyTestResult = z
  .object({
    environment: z.string(),
    name: z.string(),
    /** `create` when no deployment of that name exists there, else `update`. */
    change: z.enum(['create', 'update']),
    allowed: z.boolean(),
    violations: z.array(PolicyViolationBody),
  })
  .openapi('PolicyTestResult');
