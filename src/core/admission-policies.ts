/**
 * Admission policies: whether a deployment spec may run in an environment, judged against the
 * environment's policies (`EnvironmentPolicies`). Pure: the caller reads the environment, the
 * model version and the other deployments, and gets back EVERY violation (not just the first), each
 * naming its policy and rule, so one answer says all that must change.
 *
 * A change is judged on what it introduces, so that a policy added later never traps what already
 * runs: the model rules (residency, required labels and metrics, allowed models) apply when the
 * change sets the model (a create, a new version, a rollback or promotion to another one); the
 * image rule when it sets the image; a quota only when the change makes that total grow (a scale
 * down or a stop is always admitted).
 *
 * @example
 *   const violations = evaluateAdmission({ environment, spec, modelVersion, others: [] });
 *   if (violations.length > 0) throw new PolicyViolationError(violations);
 */
import { autoscaled } from './autoscaling/scaling-spec.js';
import { formatCpu, formatMemory, parseCpu, parseMemory } from './quantities.js';
import type { DeploymentSpec } from './resources/deployment.js';
import {
  type Environment,
  type EnvironmentQuota,
  type MetricRequirement,
  RESIDENCY_LABEL,
} from './resources/environment.js';
import type { ModelVersion } from './resources/model-version.js';

/** The policies a violation can name (the keys of `EnvironmentPolicies`, and `residency`). */
export type PolicyName =
  'residency' | 'requiredLabels' | 'requiredMetrics' | 'quota' | 'allowedModels' | 'allowedImages';

/** One broken rule. */
export interface PolicyViolation {
  /** Which policy, e.g. `quota`. */
  policy: PolicyName;
  /** Which rule of it, as written, e.g. `replicas <= 4` or `auc >= 0.8`. */
  rule: string;
  /** What breaks it, e.g. `the environment would run 6 replicas`. */
  message: string;
}

/** What admission judges. */
export interface AdmissionInput {
  environment: Pick<Environment, 'name' | 'region' | 'policies'>;
  /** The spec asked for. */
  spec: DeploymentSpec;
  /** The deployment's spec before the change; absent on a create. */
  current?: DeploymentSpec;
  /** The model version `spec.model` names; absent if it could not be read. */
  modelVersion?: Pick<ModelVersion, 'model' | 'version' | 'labels' | 'metrics'>;
  /** The specs of the environment's OTHER deployments (not this one, not being deleted). */
  others: readonly DeploymentSpec[];
}

/** Every violation of `input`; empty when the change is admitted. */
export function evaluateAdmission(input: AdmissionInput): PolicyViolation[] {
  return [...modelViolations(input), ...imageViolations(input), ...quotaViolations(input)];
}

/** `policies.quota: rule replicas <= 4: …` — the form errors and the CLI print a violation in. */
export function describeViolation(v: PolicyViolation): string {
  return `policies.${v.policy}: rule ${v.rule}: ${v.message}`;
}

function setsModel(input: AdmissionInput): boolean {
  const next = input.spec.model;
  if (next === undefined) return false;
  const before = input.current?.model;
  return before === undefined || before.name !== next.name || before.version !== next.version;
}

function modelViolations(input: AdmissionInput): PolicyViolation[] {
  if (!setsModel(input)) return [];
  const { policies, region, name: environment } = input.environment;
  const model = input.spec.model!;
  const what = `${model.name} ${model.version}`;
  const out: PolicyViolation[] = [];
  const allowed = policies.allowedModels;
  if (allowed !== undefined && !allowed.some((p) => globMatch(p, model.name))) {
    out.push({
      policy: 'allowedModels',
      rule: `model in [${allowed.join(', ')}]`,
      message: `model ${model.name} is not allowed in ${environment}`,
    });
  }
  const version = input.modelVersion;
  const needsVersion =
    Object.keys(policies.requiredLabels ?? {}).length > 0 || (policies.requiredMetrics ?? []).length > 0;
  if (version === undefined) {
    if (needsVersion)
      out.push({
        policy: policies.requiredLabels ? 'requiredLabels' : 'requiredMetrics',
        rule: 'model version known to the registry',
        message: `${what} cannot be checked: the registry has no such version`,
      });
    return out;
  }
  const residency = version.labels[RESIDENCY_LABEL];
  if (residency !== undefined) {
    const regions = residency
      .split(',')
      .map((r) => r.trim())
      .filter((r) => r !== '');
    if (region === undefined || !regions.includes(region)) {
      out.push({
        policy: 'residency',
        rule: `region in [${regions.join(', ')}]`,
        message: `${what} is labelled ${RESIDENCY_LABEL}=${residency} and ${environment} is ${region === undefined ? 'in no region (set one)' : `in region ${region}`}`,
      });
    }
  }
  for (const [key, value] of Object.entries(policies.requiredLabels ?? {})) {
    const actual = version.labels[key];
    if (actual !== value) {
      out.push({
        policy: 'requiredLabels',
        rule: `${key}=${value}`,
        message: `${what} ${actual === undefined ? `has no label ${key}` : `has ${key}=${actual}`}`,
      });
    }
  }
  for (const requirement of policies.requiredMetrics ?? []) {
    const actual = version.metrics?.[requirement.metric];
    if (actual === undefined || !compare(actual, requirement)) {
      out.push({
        policy: 'requiredMetrics',
        rule: metricRuleText(requirement),
        message: `${what} ${actual === undefined ? `has no metric ${requirement.metric}` : `has ${requirement.metric} = ${actual}`}`,
      });
    }
  }
  return out;
}

/** `auc >= 0.8`. */
export function metricRuleText(r: MetricRequirement): string {
  return `${r.metric} ${r.operator} ${r.value}`;
}

function compare(actual: number, r: MetricRequirement): boolean {
  switch (r.operator) {
    case '>=':
      return actual >= r.value;
    case '>':
      return actual > r.value;
    case '<=':
      return actual <= r.value;
    case '<':
      return actual < r.value;
    case '==':
      return actual === r.value;
  }
}

function imageViolations(input: AdmissionInput): PolicyViolation[] {
  const allowed = input.environment.policies.allowedImages;
  const image = input.spec.configuration.image;
  if (allowed === undefined || image === undefined || image === input.current?.configuration.image) return [];
  if (allowed.some((p) => globMatch(p, image))) return [];
  return [
    {
      policy: 'allowedImages',
      rule: `image in [${allowed.join(', ')}]`,
      message: `image ${image} is not allowed in ${input.environment.name}`,
    },
  ];
}

/** What one deployment asks of a quota. */
interface Usage {
  replicas: number;
  cpu: number;
  memory: number;
  gpu: number;
}

/** Replicas counted against a quota: the spec's, or the autoscaler's maximum when that is higher. */
function usageOf(spec: DeploymentSpec): Usage {
  const c = spec.configuration;
  const replicas = autoscaled(c.scaling) ? Math.max(c.replicas, c.scaling.max) : c.replicas;
  return {
    replicas,
    cpu: replicas * parseCpu(c.resources.cpu),
    memory: replicas * parseMemory(c.resources.memory),
    gpu: replicas * c.resources.gpu,
  };
}

function sum(usages: readonly Usage[]): Usage {
  const total: Usage = { replicas: 0, cpu: 0, memory: 0, gpu: 0 };
  for (const u of usages) {
    total.replicas += u.replicas;
    total.cpu += u.cpu;
    total.memory += u.memory;
    total.gpu += u.gpu;
  }
  return total;
}

const QUOTA_RESOURCES: readonly {
  key: keyof EnvironmentQuota & keyof Usage;
  limit: (q: EnvironmentQuota) => number | undefined;
  text: (n: number) => string;
}[] = [
  { key: 'replicas', limit: (q) => q.replicas, text: String },
  { key: 'cpu', limit: (q) => (q.cpu === undefined ? undefined : parseCpu(q.cpu)), text: orZero(formatCpu) },
  {
    key: 'memory',
    limit: (q) => (q.memory === undefined ? undefined : parseMemory(q.memory)),
    text: orZero(formatMemory),
  },
  { key: 'gpu', limit: (q) => q.gpu, text: String },
];

function orZero(format: (n: number) => string): (n: number) => string {
  return (n) => (n === 0 ? '0' : format(n));
}

function quotaViolations(input: AdmissionInput): PolicyViolation[] {
  const quota = input.environment.policies.quota;
  if (quota === undefined) return [];
  const others = sum(input.others.map(usageOf));
  const after = sum([others, usageOf(input.spec)]);
  const before = sum(input.current === undefined ? [others] : [others, usageOf(input.current)]);
  const out: PolicyViolation[] = [];
  for (const r of QUOTA_RESOURCES) {
    const limit = r.limit(quota);
    if (limit === undefined || after[r.key] <= limit + 1e-9 || after[r.key] <= before[r.key]) continue;
    const written = r.key === 'cpu' ? quota.cpu : r.key === 'memory' ? quota.memory : String(limit);
    out.push({
      policy: 'quota',
      rule: `${r.key} <= ${written}`,
      message: `${input.environment.name} would ask for ${r.text(after[r.key])} ${r.key} in all (its other deployments ${r.text(others[r.key])})`,
    });
  }
  return out;
}

/** `*` matches any run of characters, everything else itself: `risk-*` matches `risk-eu`. */
export function globMatch(pattern: string, value: string): boolean {
  const source = pattern
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${source}$`).test(value);
}
