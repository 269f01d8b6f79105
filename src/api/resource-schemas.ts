/**
 * Response schemas of the stored resources, as the API sends them (`JSON.stringify` of the core
 * types in `core/resources.ts`): the OpenAPI document describes them, and the CLI's client takes
 * its types from them (`z.infer`). Each schema is checked at compile time against its core type in
 * both directions (`Exact` of `spec-schemas.ts`), so a field added to a resource and not here, or here and not
 * there, does not compile. Objects are not strict: a client must tolerate fields it does not know.
 * Imports only zod and core types, so the CLI can import its types without pulling in the server.
 */
import { z } from 'zod';
import type {
  Approval,
  Deployment,
  DeploymentEvent,
  Environment,
  Feedback,
  Incident,
  Model,
  ModelVersion,
  Revision,
} from '../core/resources.js';
import { PoliciesBody } from './policy-schemas.js';
import {
  ConditionBody,
  DeploymentSpecBody,
  type Exact,
  exact,
  Labels,
  ModelReference,
  RolloutRequestBody,
  RolloutStatusBody,
} from './spec-schemas.js';

const resourceVersion = z.number().int();

export const EnvironmentBody = z.object({
  name: z.string(),
  runtime: z.enum(['local', 'kubernetes']),
  region: z.string().optional(),
  policies: PoliciesBody,
  labels: Labels,
  failoverFor: z.string().optional(),
  resourceVersion,
});

export const ModelBody = z.object({ name: z.string(), description: z.string(), labels: Labels, resourceVersion });

const TensorSpec = z.object({ name: z.string(), datatype: z.string(), shape: z.array(z.number()) });

export const ModelVersionBody = z.object({
  model: z.string(),
  version: z.string(),
  artifact: z.object({ digest: z.templateLiteral(['sha256:', z.string()]), size: z.number(), filename: z.string() }),
  signature: z.object({ inputs: z.array(TensorSpec), outputs: z.array(TensorSpec) }),
  labels: Labels,
  metrics: z.record(z.string(), z.number()).optional(),
  source: z.object({ repository: z.string().optional(), commit: z.string().optional() }).optional(),
  createdAt: z.string(),
  resourceVersion,
});

export const DeploymentBody = DeploymentSpecBody.extend({
  id: z.string(),
  name: z.string(),
  environment: z.string(),
  revision: z.number(),
  status: z.object({
    phase: z.enum(['deploying', 'running', 'stopped', 'failed', 'rolling-back']),
    conditions: z.array(ConditionBody),
    message: z.string().optional(),
    readyReplicas: z.number(),
    lastTermination: z
      .object({ replica: z.string(), reason: z.string(), message: z.string(), time: z.string() })
      .optional(),
    desiredReplicas: z.number().optional(),
    observedRevision: z.number(),
    rollout: RolloutStatusBody.optional(),
    serving: z
      .array(z.object({ revision: z.number(), weight: z.number(), model: ModelReference.optional() }))
      .optional(),
  }),
  endpoints: z.object({
    internal: z.string().optional(),
    external: z.string().optional(),
    monitoring: z.string().optional(),
    logs: z.string().optional(),
    preview: z.string().optional(),
  }),
  metadata: z.object({
    created: z.string(),
    updated: z.string(),
    deployedBy: z.string(),
    project: z.string(),
    labels: Labels,
  }),
  rolloutRequests: z.array(RolloutRequestBody).optional(),
  resourceVersion,
});

export const RevisionBody = z.object({
  deployment: z.string(),
  number: z.number(),
  spec: DeploymentSpecBody,
  createdAt: z.string(),
  createdBy: z.string(),
  reason: z.string(),
  resourceVersion,
});

export const EventBody = z.object({
  deployment: z.string(),
  id: z.string(),
  time: z.string(),
  type: z.enum(['Normal', 'Warning']),
  reason: z.string(),
  message: z.string(),
  resourceVersion,
});

export const IncidentBody = z.object({
  id: z.string(),
  environment: z.string(),
  deploymentName: z.string(),
  deployment: z.string(),
  revision: z.number(),
  time: z.string(),
  reason: z.string(),
  message: z.string(),
  resourceVersion,
});

export const ApprovalBody = z.object({
  id: z.string(),
  environment: z.string(),
  deploymentName: z.string(),
  action: z.string(),
  request: z.record(z.string(), z.unknown()),
  summary: z.string(),
  requestedBy: z.string(),
  requester: z.object({ id: z.string(), name: z.string() }).optional(),
  requestedAt: z.string(),
  reason: z.string().optional(),
  state: z.enum(['pending', 'approved', 'rejected', 'failed']),
  decidedBy: z.string().optional(),
  decider: z.object({ id: z.string(), name: z.string() }).optional(),
  decidedAt: z.string().optional(),
  comment: z.string().optional(),
  result: z.string().optional(),
  resourceVersion,
});

export const FeedbackBody = z.object({
  deployment: z.string(),
  requestId: z.string(),
  revision: z.number(),
  outcome: z.number(),
  time: z.string(),
  by: z.string(),
  resourceVersion,
});

exact<Exact<z.infer<typeof EnvironmentBody>, Environment>>();
exact<Exact<z.infer<typeof ModelBody>, Model>>();
exact<Exact<z.infer<typeof ModelVersionBody>, ModelVersion>>();
exact<Exact<z.infer<typeof DeploymentBody>, Deployment>>();
exact<Exact<z.infer<typeof RevisionBody>, Revision>>();
exact<Exact<z.infer<typeof EventBody>, DeploymentEvent>>();
exact<Exact<z.infer<typeof IncidentBody>, Incident>>();
exact<Exact<z.infer<typeof ApprovalBody>, Approval>>();
exact<Exact<z.infer<typeof FeedbackBody>, Feedback>>();
