/**
 * What a user sends to create or change a deployment, its defaults, and the rules a spec must meet.
 * Pure: no I/O. Existence checks (environment, model version) need the store and live in the
 * deployment service; everything else about a spec is decided here.
 *
 * Every rule failure is an {@link InvalidArgumentError} whose message starts with the field's path,
 * e.g. `configuration.replicas: must be an integer from 0 to 100, got 101`.
 *
 * What depends on the deployment `type` (which types run at all, the type's own fields, its default
 * readiness path) is asked of {@link SpecKinds}, which the workload kinds implement
 * (`workloads/workload-kind.ts`: `WORKLOAD_SPEC_KINDS`); core imports nothing of theirs.
 */
import { SCALING_FIELDS, validateScaling } from './autoscaling/scaling-spec.js';
import type {
  BundleReference,
  DeploymentConfiguration,
  DeploymentSpec,
  DeploymentType,
  Labels,
  ModelReference,
  ScalingSpec,
} from './resources.js';
import { CPU_RANGE_TEXT, isCpuInRange, isMemoryInRange, MEMORY_RANGE_TEXT } from './quantities.js';
import { fail } from './validation.js';
import { validateEnv } from './env-spec.js';
import {
  HEALTH_CHECK_FIELDS,
  RESOURCE_FIELDS,
  validateHealthCheckExtras,
  validateResourceLimits,
} from './health-check-spec.js';
import { type StrategySpec, validateStrategy } from './strategy.js';
import { AUTH_FIELDS, RATE_LIMIT_FIELDS, validateEndpointAuth, validateRateLimit } from './endpoint-access-spec.js';

/** Most replicas one deployment may ask for. */
export const MAX_REPLICAS = 100;

/** What the spec rules ask of the workload kinds, one per deployment `type`. */
export interface SpecKinds {
  /**
   * Throws `INVALID_ARGUMENT` naming the field unless a kind runs `spec.type` (an unknown or
   * unimplemented type fails on `type`) and the kind's own fields are valid (e.g. `model`).
   */
  validate(spec: DeploymentSpec): void;
  /** The readiness path a spec of `type` gets by default: where its replicas answer. */
  readinessPath(type: unknown): string;
}

/**
 * Defaults filled into a new deployment's configuration and strategy; the health check's `path`
 * is the kind's readiness path ({@link SpecKinds.readinessPath}).
 */
export const DEPLOYMENT_DEFAULTS = {
  replicas: 1,
  resources: { cpu: '500m', memory: '512Mi', gpu: 0 },
  /** `min` and `max` default to the replica count: no autoscaling unless asked for. */
  scaling: { targetCPU: 80, targetMemory: 80 },
  healthCheck: { interval: 5, timeout: 2, retries: 3 },
  strategy: { type: 'rolling' } satisfies StrategySpec,
  project: 'default',
} as const;

/** A deep partial of the configuration, as users send it. */
export interface DeploymentConfigurationInput {
  image?: string;
  /** `application` / `worker`: replaced as a whole. */
  command?: string[];
  /** Replaced as a whole; `null` (in a patch) removes it, like the other optional command fields. */
  args?: string[] | null;
  workingDir?: string | null;
  port?: number | null;
  protocol?: DeploymentConfiguration['protocol'] | null;
  healthCommand?: string[] | null;
  terminationGracePeriod?: number | null;
  /** Replaces the list as a whole. */
  env?: DeploymentConfiguration['env'];
  replicas?: number;
  resources?: Partial<DeploymentConfiguration['resources']>;
  scaling?: Partial<DeploymentConfiguration['scaling']>;
  healthCheck?: Partial<DeploymentConfiguration['healthCheck']>;
  /** Merged field by field; `null` (in a patch) makes the endpoint open again. */
  auth?: Partial<NonNullable<DeploymentConfiguration['auth']>> | null;
  /** Merged field by field; `null` (in a patch) removes the limit. */
  rateLimit?: Partial<NonNullable<DeploymentConfiguration['rateLimit']>> | null;
}

/** What `create` accepts. */
export interface DeploymentInput {
  /** A DNS label, unique within the environment. */
  name: string;
  environment: string;
  /** Default `model`. */
  type?: DeploymentType;
  model?: ModelReference;
  /** `application` / `worker`: a pushed bundle the command runs inside. */
  bundle?: BundleReference;
  configuration?: DeploymentConfigurationInput;
  strategy?: StrategySpec;
  metadata?: { project?: string; labels?: Labels };
}

/** What `update` accepts: any subset of the spec (merged field by field) and of the metadata. */
export interface DeploymentPatch {
  model?: Partial<ModelReference>;
  /** Merged field by field (a new version: `{version: '1.3.0'}`). */
  bundle?: Partial<BundleReference>;
  configuration?: DeploymentConfigurationInput;
  /** Replaces the strategy as a whole. */
  strategy?: StrategySpec;
  metadata?: { project?: string; labels?: Labels };
}

const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** Throws unless `name` is a DNS label (1–63 of `a-z 0-9 -`, starting and ending alphanumeric). */
export function validateDeploymentName(name: unknown, field = 'name'): asserts name is string {
  if (typeof name !== 'string' || !DNS_LABEL.test(name)) {
    fail(
      field,
      "must be a DNS label (1-63 lowercase letters, digits or '-', starting and ending with a letter or digit)",
      name,
    );
  }
}

/**
 * The spec a create input asks for, with defaults filled in. Validates the input's shape on the way
 * (unknown fields are refused: a misspelt field must not be silently ignored).
 */
export function specFromInput(input: DeploymentInput, kinds: SpecKinds): DeploymentSpec {
  const raw = object(input, 'body');
  allowOnly(raw, 'body', ['name', 'environment', 'type', 'model', 'bundle', 'configuration', 'strategy', 'metadata']);
  const type = (raw.type ?? 'model') as DeploymentType;
  const configuration = mergeConfiguration(undefined, raw.configuration, kinds.readinessPath(type));
  const spec: DeploymentSpec = {
    type,
    configuration,
    strategy: structuredClone((raw.strategy ?? DEPLOYMENT_DEFAULTS.strategy) as StrategySpec),
  };
  if (raw.model !== undefined) spec.model = structuredClone(raw.model as ModelReference);
  if (raw.bundle !== undefined) spec.bundle = structuredClone(raw.bundle as BundleReference);
  validateDeploymentSpec(spec, kinds);
  return spec;
}

/** `spec` with `patch` merged in (a new object; `spec` is not changed). Validates the result. */
export function applyPatch(spec: DeploymentSpec, patch: DeploymentPatch, kinds: SpecKinds): DeploymentSpec {
  const raw = object(patch, 'patch');
  allowOnly(raw, 'patch', ['model', 'bundle', 'configuration', 'strategy', 'metadata']);
  const next = structuredClone(spec);
  if (raw.model !== undefined) {
    const model = object(raw.model, 'model');
    allowOnly(model, 'model', ['name', 'version']);
    next.model = { ...(next.model ?? { name: '', version: '' }), ...(model as Partial<ModelReference>) };
  }
  if (raw.bundle !== undefined) {
    const bundle = object(raw.bundle, 'bundle');
    allowOnly(bundle, 'bundle', ['name', 'version']);
    next.bundle = { ...(next.bundle ?? { name: '', version: '' }), ...(bundle as Partial<BundleReference>) };
  }
  if (raw.configuration !== undefined)
    next.configuration = mergeConfiguration(next.configuration, raw.configuration, kinds.readinessPath(next.type));
  if (raw.strategy !== undefined) next.strategy = structuredClone(raw.strategy as StrategySpec);
  validateDeploymentSpec(next, kinds);
  return next;
}

/** Checks the metadata part of an input or patch; returns it typed. */
export function validateMetadataInput(value: unknown): { project?: string; labels?: Labels } {
  if (value === undefined) return {};
  const metadata = object(value, 'metadata');
  allowOnly(metadata, 'metadata', ['project', 'labels']);
  if (metadata.project !== undefined) text(metadata.project, 'metadata.project');
  if (metadata.labels !== undefined) labels(metadata.labels, 'metadata.labels');
  return metadata as { project?: string; labels?: Labels };
}

/** Throws unless `spec` meets every rule: its kind's first (starting with `type`), then the common ones. */
export function validateDeploymentSpec(spec: DeploymentSpec, kinds: SpecKinds): void {
  const s = object(spec, 'spec');
  kinds.validate(spec);

  const c = object(s.configuration, 'configuration');
  if (c.image !== undefined) text(c.image, 'configuration.image');
  if (c.env !== undefined) validateEnv(c.env);
  integer(c.replicas, 'configuration.replicas', 0, MAX_REPLICAS);
  const r = object(c.resources, 'configuration.resources');
  if (!isCpuInRange(r.cpu)) {
    fail('configuration.resources.cpu', `must be a CPU quantity ${CPU_RANGE_TEXT}, such as '500m' or '2'`, r.cpu);
  }
  if (!isMemoryInRange(r.memory)) {
    fail(
      'configuration.resources.memory',
      `must be a memory quantity ${MEMORY_RANGE_TEXT}, such as '512Mi' or '2Gi'`,
      r.memory,
    );
  }
  integer(r.gpu, 'configuration.resources.gpu', 0, 16);
  validateResourceLimits(r);
  validateScaling(c.scaling, 'configuration.scaling');
  const h = object(c.healthCheck, 'configuration.healthCheck');
  if (typeof h.path !== 'string' || !/^\/[\x21-\x7e]*$/.test(h.path))
    fail(
      'configuration.healthCheck.path',
      `must be an absolute URL path such as '${kinds.readinessPath(s.type)}'`,
      h.path,
    );
  seconds(h.interval, 'configuration.healthCheck.interval', 3600);
  seconds(h.timeout, 'configuration.healthCheck.timeout', h.interval as number, 'healthCheck.interval');
  integer(h.retries, 'configuration.healthCheck.retries', 1, 100);
  validateHealthCheckExtras(h);
  if (c.auth !== undefined) validateEndpointAuth(c.auth);
  if (c.rateLimit !== undefined) validateRateLimit(c.rateLimit);

  validateStrategy(s.strategy);
}

/** The configuration fields of `application` and `worker` specs, merged by {@link mergeConfiguration}. */
const COMMAND_FIELDS = [
  'command',
  'args',
  'workingDir',
  'port',
  'protocol',
  'healthCommand',
  'terminationGracePeriod',
] as const;

function mergeConfiguration(
  base: DeploymentConfiguration | undefined,
  input: unknown,
  readinessPath: string,
): DeploymentConfiguration {
  const c = input === undefined ? {} : object(input, 'configuration');
  allowOnly(c, 'configuration', [
    'image',
    ...COMMAND_FIELDS,
    'env',
    'replicas',
    'resources',
    'scaling',
    'healthCheck',
    'auth',
    'rateLimit',
  ]);
  const part = (name: 'resources' | 'scaling' | 'healthCheck', keys: readonly string[]): Record<string, unknown> => {
    const value = c[name] === undefined ? {} : object(c[name], `configuration.${name}`);
    allowOnly(value, `configuration.${name}`, keys);
    return value;
  };
  const resources = part('resources', [...RESOURCE_FIELDS]);
  const scaling = part('scaling', SCALING_FIELDS);
  const healthCheck = part('healthCheck', [...HEALTH_CHECK_FIELDS]);
  const replicas = (c.replicas ?? base?.replicas ?? DEPLOYMENT_DEFAULTS.replicas) as number;
  const merged: DeploymentConfiguration = {
    replicas,
    resources: {
      ...(base?.resources ?? DEPLOYMENT_DEFAULTS.resources),
      ...resources,
    } as DeploymentConfiguration['resources'],
    scaling: mergeScaling(base?.scaling ?? { min: replicas, max: replicas, ...DEPLOYMENT_DEFAULTS.scaling }, scaling),
    healthCheck: {
      ...(base?.healthCheck ?? { path: readinessPath, ...DEPLOYMENT_DEFAULTS.healthCheck }),
      ...healthCheck,
    } as DeploymentConfiguration['healthCheck'],
  };
  const image = c.image ?? base?.image;
  if (image !== undefined) merged.image = image as string;
  // Each replaces the old value as a whole; `null` removes it (absent keeps it).
  for (const field of COMMAND_FIELDS) {
    const value = c[field] === undefined ? base?.[field] : c[field];
    if (value !== undefined && value !== null)
      (merged as unknown as Record<string, unknown>)[field] = structuredClone(value);
  }
  const env = c.env ?? base?.env;
  if (env !== undefined) merged.env = structuredClone(env) as DeploymentConfiguration['env'];
  const auth = mergeOptional(base?.auth, c.auth, 'configuration.auth', AUTH_FIELDS);
  if (auth !== undefined) merged.auth = auth as unknown as NonNullable<DeploymentConfiguration['auth']>;
  const rateLimit = mergeOptional(base?.rateLimit, c.rateLimit, 'configuration.rateLimit', RATE_LIMIT_FIELDS);
  if (rateLimit !== undefined)
    merged.rateLimit = rateLimit as unknown as NonNullable<DeploymentConfiguration['rateLimit']>;
  return merged;
}

/**
 * An optional sub-object of the configuration (`auth`, `rateLimit`): `input` merged over `base`
 * field by field; `null` removes it; absent keeps `base`. The merged value is validated by the spec.
 */
function mergeOptional(
  base: object | undefined,
  input: unknown,
  field: string,
  keys: readonly string[],
): Record<string, unknown> | undefined {
  if (input === null) return undefined;
  if (input === undefined) return base === undefined ? undefined : { ...base };
  const value = object(input, field);
  allowOnly(value, field, keys);
  return { ...base, ...value };
}

/**
 * `base` with `input` merged field by field, one level into `hold`, `predictive` and `custom`
 * (`schedules` is replaced as a list). `target` and `custom` belong to the metric: a change of
 * `metric` that does not send them drops the old ones, so the new metric gets its own defaults.
 */
function mergeScaling(base: ScalingSpec, input: Record<string, unknown>): ScalingSpec {
  const merged: Record<string, unknown> = { ...base, ...input };
  if (input.metric !== undefined && input.metric !== (base.metric ?? 'concurrency')) {
    if (input.target === undefined) delete merged.target;
    if (input.custom === undefined) delete merged.custom;
  }
  for (const key of ['hold', 'predictive', 'custom'] as const) {
    const from: unknown = base[key];
    const patch = input[key];
    if (isPlainObject(from) && isPlainObject(patch)) merged[key] = { ...from, ...patch };
  }
  return merged as unknown as ScalingSpec;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function object(value: unknown, field: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(field, 'must be an object', value);
  return value as Record<string, unknown>;
}

function allowOnly(value: Record<string, unknown>, field: string, keys: readonly string[]): void {
  for (const key of Object.keys(value)) {
    if (!keys.includes(key))
      fail(
        `${field === 'body' || field === 'patch' ? '' : `${field}.`}${key}`,
        `unknown field (allowed: ${keys.join(', ')})`,
      );
  }
}

function text(value: unknown, field: string): void {
  if (typeof value !== 'string' || value === '') fail(field, 'must be a non-empty string', value);
}

function integer(value: unknown, field: string, min: number, max: number): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max)
    fail(field, `must be an integer from ${min} to ${max}`, value);
}

function seconds(value: unknown, field: string, max: number, maxName?: string): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || value > max) {
    fail(
      field,
      `must be a number of seconds above 0 and at most ${maxName === undefined ? max : `${maxName} (${max})`}`,
      value,
    );
  }
}

function labels(value: unknown, field: string): void {
  const map = object(value, field);
  for (const [key, v] of Object.entries(map)) {
    if (key === '' || key.length > 63) fail(`${field}`, 'keys must be 1-63 characters', key);
    if (typeof v !== 'string') fail(`${field}.${key}`, 'must be a string', v);
  }
}
