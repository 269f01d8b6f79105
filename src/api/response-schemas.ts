/**
 * The API's response bodies, route by route: what `/api/v1/openapi.json` describes and what the
 * CLI's client is typed with (`z.infer`, as the `…Response` types at the end). Built from the
 * resource schemas (`resource-schemas.ts`, checked against the core types) and, for the bodies
 * that are not stored resources (lists, the autoscaling view, A/B results, diffs), from what the
 * routes send. Not strict: the schemas accept every body the server sends and any field added later.
 * Imports only zod and core types, so the CLI may import its types.
 */
import { z } from 'zod';
import type { ResolvedScaling } from '../core/autoscaling/scaling-spec.js';
import type { AutoscalerState } from '../core/resources.js';
import type { FieldChange } from '../core/revision-diff.js';
import {
  ApprovalBody,
  DeploymentBody,
  EnvironmentBody,
  EventBody,
  IncidentBody,
  ModelBody,
  ModelVersionBody,
  RevisionBody,
} from './resource-schemas.js';
import { type Exact, exact, QueueScalingBody, ScalingMetricBody, ScheduleBody } from './spec-schemas.js';

export {
  ApprovalBody,
  DeploymentBody,
  EnvironmentBody,
  EventBody,
  FeedbackBody,
  IncidentBody,
  ModelBody,
  ModelVersionBody,
  RevisionBody,
} from './resource-schemas.js';

/** One page of a list; `continue` is absent on the last page. */
export const page = <T extends z.ZodType>(item: T) =>
  z.object({ items: z.array(item), continue: z.string().optional() });

export const DeploymentPage = page(DeploymentBody);
export const RevisionPage = page(RevisionBody);
export const EventPage = page(EventBody);
export const ApprovalPage = page(ApprovalBody);
export const IncidentPage = page(IncidentBody);
export const EnvironmentPage = page(EnvironmentBody);

/** A change held for approval (202) instead of applied. */
export const PendingApproval = z.object({ approval: ApprovalBody });

/** Two revisions' field-level differences; `from`/`to` of a change are absent where the field is. */
export const DiffResponse = z.object({
  from: z.number(),
  to: z.number(),
  changes: z.array(z.object({ path: z.string(), from: z.unknown(), to: z.unknown() })),
  text: z.string(),
});
exact<Exact<z.infer<typeof DiffResponse>['changes'][number], FieldChange>>();

/** A model with how many versions it has and the newest one's name. */
export const ModelSummary = ModelBody.extend({ versions: z.number(), latestVersion: z.string().optional() });
export const ModelPage = page(ModelSummary);
export const ModelVersionList = z.object({ items: z.array(ModelVersionBody) });

const Hold = z.object({ queue: z.number(), timeout: z.number() });
const ResolvedScalingBody = z.object({
  min: z.number(),
  max: z.number(),
  targetCPU: z.number(),
  targetMemory: z.number(),
  metric: ScalingMetricBody,
  target: z.number(),
  custom: z.object({ query: z.string(), target: z.number() }).optional(),
  queue: QueueScalingBody.optional(),
  stableWindow: z.number(),
  panicWindow: z.number(),
  panicThreshold: z.number(),
  scaleDownDelay: z.number(),
  idleTimeout: z.number(),
  hold: Hold,
  schedules: z.array(ScheduleBody).readonly(),
  predictive: z.object({ enabled: z.boolean(), bucket: z.number(), season: z.number(), horizon: z.number() }),
});
exact<Exact<z.infer<typeof ResolvedScalingBody>, ResolvedScaling>>();

const AutoscalerStateBody = z.object({
  deployment: z.string(),
  environment: z.string(),
  desiredReplicas: z.number(),
  lastDecision: z
    .object({
      time: z.string(),
      from: z.number(),
      to: z.number(),
      rule: z.string(),
      metric: ScalingMetricBody,
      value: z.number().optional(),
      target: z.number(),
      windowSeconds: z.number().optional(),
      message: z.string(),
    })
    .optional(),
  panicUntil: z.string().optional(),
  lastRequestAt: z.string().optional(),
  observed: z
    .object({
      time: z.string(),
      metric: ScalingMetricBody,
      stable: z.number().optional(),
      panic: z.number().optional(),
      target: z.number(),
      requestRate: z.number(),
      held: z.number(),
    })
    .optional(),
  schedule: z.object({ name: z.string(), min: z.number(), max: z.number(), until: z.string().optional() }).optional(),
  forecast: z
    .object({
      time: z.string(),
      horizonSeconds: z.number(),
      requestRate: z.number(),
      method: z.string(),
      error: z.object({ mape: z.number().optional(), rmse: z.number(), samples: z.number() }),
      desiredReplicas: z.number(),
    })
    .optional(),
  history: z.object({ bucketSeconds: z.number(), start: z.string(), rates: z.array(z.number()) }).optional(),
  recommendation: z
    .object({
      time: z.string(),
      cpu: z.string(),
      memory: z.string(),
      memoryLimit: z.string(),
      change: z.object({ cpu: z.enum(['raise', 'lower', 'keep']), memory: z.enum(['raise', 'lower', 'keep']) }),
      basis: z.string(),
      samples: z.number(),
    })
    .optional(),
  usage: z.array(z.object({ cpuCores: z.number(), memoryBytes: z.number() })).optional(),
  problem: z.string().optional(),
  resourceVersion: z.number(),
});
exact<Exact<z.infer<typeof AutoscalerStateBody>, AutoscalerState>>();

/**
 * The autoscaler's record as the API shows it: with `full=true` the record itself; otherwise the
 * rate history summarised (`history.buckets` instead of `history.rates`) and the usage samples
 * counted (`usageSamples` instead of `usage`).
 */
export const AutoscalerView = AutoscalerStateBody.extend({
  history: z
    .union([
      z.object({ bucketSeconds: z.number(), start: z.string(), rates: z.array(z.number()) }),
      z.object({ bucketSeconds: z.number(), start: z.string(), buckets: z.number() }),
    ])
    .optional(),
  usageSamples: z.number().optional(),
});

export const AutoscalingResponse = z.object({
  autoscaled: z.boolean(),
  scaling: ResolvedScalingBody,
  state: AutoscalerView.nullable(),
});
export const ActivateResponse = z.object({ activated: z.boolean() });

const MaybeNumber = z.number().nullable().optional(); // `undefined` is left out, a NaN is sent as null
/** Per-variant outcomes and the significance test: a two-proportion test, or Welch's t-test. */
export const AbResultsResponse = z.object({
  deployment: z.string(),
  environment: z.string(),
  variants: z.object({
    a: z.object({ revision: z.number().nullable(), outcomes: z.number() }),
    b: z.object({ revision: z.number().nullable(), outcomes: z.number() }),
  }),
  outcome: z.enum(['binary', 'numeric']),
  test: z.looseObject({
    a: z.looseObject({ n: z.number() }),
    b: z.looseObject({ n: z.number() }),
    difference: MaybeNumber,
    pValue: MaybeNumber,
    alpha: z.number(),
    significant: z.boolean(),
    verdict: z.string(),
  }),
  otherRevisions: z.array(z.number()),
});

/** An analysis template (`core/analysis/template.ts`) as stored or built in. */
export const AnalysisTemplateBody = z.looseObject({ name: z.string() });
export const AnalysisTemplateList = z.object({
  items: z.array(AnalysisTemplateBody.extend({ builtin: z.boolean() })),
});
export const DeletedResponse = z.object({ deleted: z.string() });

// The bodies as the CLI reads them.
export type DeploymentResponse = z.infer<typeof DeploymentBody>;
export type DeploymentPageResponse = z.infer<typeof DeploymentPage>;
export type RevisionPageResponse = z.infer<typeof RevisionPage>;
export type EventPageResponse = z.infer<typeof EventPage>;
export type DiffResult = z.infer<typeof DiffResponse>;
export type ApprovalResponse = z.infer<typeof ApprovalBody>;
export type ApprovalPageResponse = z.infer<typeof ApprovalPage>;
export type PendingApprovalResponse = z.infer<typeof PendingApproval>;
export type IncidentPageResponse = z.infer<typeof IncidentPage>;
export type EnvironmentResponse = z.infer<typeof EnvironmentBody>;
export type EnvironmentPageResponse = z.infer<typeof EnvironmentPage>;
export type ModelPageResponse = z.infer<typeof ModelPage>;
export type ModelVersionResponse = z.infer<typeof ModelVersionBody>;
export type ModelVersionListResponse = z.infer<typeof ModelVersionList>;
export type AutoscalingResult = z.infer<typeof AutoscalingResponse>;
export type AutoscalerViewResponse = z.infer<typeof AutoscalerView>;
