/**
 * `wharf env set-policy` (an environment's region and admission policies) and `wharf policy test`
 * (the dry run: what those policies would say to a deployment document, changing nothing).
 */
import { type Command, InvalidArgumentError } from 'commander';
import type { EnvironmentResponse, PendingApprovalResponse } from '../api/response-schemas.js';
import { METRIC_OPERATORS, type MetricOperator, type MetricRequirement } from '../core/resources.js';
import { call } from './client.js';
import { usageError } from './exit-codes.js';
import { parseDocuments, readStdin, withoutServerFields } from './deployment-documents.js';
import { readInputText } from './input-file.js';
import { type OutputFormat, outputFormat, printDocument } from './output.js';
import { action } from './run-action.js';

/** Rules `--clear` removes. */
const CLEARABLE = ['region', 'requiredLabels', 'requiredMetrics', 'quota', 'allowedModels', 'allowedImages'] as const;

/** What `policy test` answers (the API's PolicyTestResult). */
interface PolicyTestResponse {
  environment: string;
  name: string;
  change: 'create' | 'update';
  allowed: boolean;
  violations: { policy: string; rule: string; message: string }[];
}

interface SetPolicyFlags {
  requiresApproval?: boolean;
  region?: string;
  requireLabel?: string[];
  requireMetric?: MetricRequirement[];
  quotaReplicas?: number;
  quotaCpu?: string;
  quotaMemory?: string;
  quotaGpu?: number;
  allowModel?: string[];
  allowImage?: string[];
  clear?: string[];
}

const collect =
  <T>(parse: (v: string) => T) =>
  (value: string, previous: T[] | undefined): T[] => [...(previous ?? []), parse(value)];

const wholeNumber = (v: string): number => {
  if (!/^\d+$/.test(v)) throw new InvalidArgumentError('must be a whole number ≥ 0');
  return Number(v);
};

/** `auc>=0.8` → `{ metric: 'auc', operator: '>=', value: 0.8 }`. */
export function parseMetricRequirement(text: string): MetricRequirement {
  const m = /^\s*([A-Za-z_][A-Za-z0-9_.:-]*)\s*(>=|<=|==|>|<)\s*(\S+)\s*$/.exec(text);
  const value = m === null ? Number.NaN : Number(m[3]);
  if (m === null || !Number.isFinite(value))
    throw new InvalidArgumentError(
      `must be METRIC OP NUMBER with OP one of ${METRIC_OPERATORS.join(' ')}, e.g. 'auc>=0.8'`,
    );
  return { metric: m[1]!, operator: m[2] as MetricOperator, value };
}

/** Adds `set-policy` to `wharf env`. */
export function registerSetPolicy(envs: Command): void {
  envs
    .command('set-policy <name>')
    .description(
      "Change an environment's region and policies (rules not named stay; quota flags replace the whole quota)",
    )
    .option('--requires-approval <bool>', 'true or false', (v) => {
      if (v !== 'true' && v !== 'false') throw new InvalidArgumentError('must be true or false');
      return v === 'true';
    })
    .option('--region <region>', 'where the environment runs, for data residency (e.g. eu-west-1)')
    .option('--require-label <key=value>', 'a label every model version must carry (repeatable)', collect(String))
    .option(
      '--require-metric <rule>',
      "a metric threshold, e.g. 'auc>=0.8' (repeatable)",
      collect(parseMetricRequirement),
    )
    .option('--quota-replicas <n>', 'replicas over all deployments', wholeNumber)
    .option('--quota-cpu <quantity>', 'CPU requests over all deployments, e.g. 8 or 4500m')
    .option('--quota-memory <quantity>', 'memory requests over all deployments, e.g. 16Gi')
    .option('--quota-gpu <n>', 'GPUs over all deployments', wholeNumber)
    .option('--allow-model <pattern>', 'a model name that may run here, * as wildcard (repeatable)', collect(String))
    .option('--allow-image <pattern>', 'an image that may run here, * as wildcard (repeatable)', collect(String))
    .option('--clear <rule>', `remove a rule: ${CLEARABLE.join(', ')} (repeatable)`, collect(String))
    .action(
      action(async (name: string, f: SetPolicyFlags) => {
        const body = setPolicyBody(f);
        const answer = await call<EnvironmentResponse | PendingApprovalResponse>(
          `/api/v1/environments/${encodeURIComponent(name)}`,
          { method: 'PATCH', json: body },
        );
        // Loosening the policies of an environment that requires approval waits for another person.
        if ('approval' in answer) {
          const a = answer.approval;
          process.stdout.write(
            `approval ${a.id} requested: ${a.summary}\nanother person runs: wharf approvals approve ${a.id}\n`,
          );
          return;
        }
        const e = answer;
        process.stdout.write(`environment ${e.name}: requires approval = ${String(e.policies.requiresApproval)}\n`);
        const { requiresApproval: _r, ...rules } = e.policies;
        if (e.region !== undefined) process.stdout.write(`region: ${e.region}\n`);
        if (Object.keys(rules).length > 0) printDocument(rules, 'yaml');
      }),
    );
}

function setPolicyBody(f: SetPolicyFlags): { policies: Record<string, unknown>; region?: string | null } {
  const policies: Record<string, unknown> = {};
  let region: string | null | undefined = f.region;
  for (const rule of f.clear ?? []) {
    if (!(CLEARABLE as readonly string[]).includes(rule))
      throw usageError(`--clear: must be one of ${CLEARABLE.join(', ')}, got ${JSON.stringify(rule)}`);
    if (rule === 'region') region = null;
    else policies[rule] = null;
  }
  if (f.requiresApproval !== undefined) policies.requiresApproval = f.requiresApproval;
  if (f.requireLabel !== undefined) {
    policies.requiredLabels = Object.fromEntries(
      f.requireLabel.map((l) => {
        const at = l.indexOf('=');
        if (at <= 0) throw usageError(`--require-label: must be key=value, got ${JSON.stringify(l)}`);
        return [l.slice(0, at), l.slice(at + 1)];
      }),
    );
  }
  if (f.requireMetric !== undefined) policies.requiredMetrics = f.requireMetric;
  const quota = {
    ...(f.quotaReplicas === undefined ? {} : { replicas: f.quotaReplicas }),
    ...(f.quotaCpu === undefined ? {} : { cpu: f.quotaCpu }),
    ...(f.quotaMemory === undefined ? {} : { memory: f.quotaMemory }),
    ...(f.quotaGpu === undefined ? {} : { gpu: f.quotaGpu }),
  };
  if (Object.keys(quota).length > 0) policies.quota = quota;
  if (f.allowModel !== undefined) policies.allowedModels = f.allowModel;
  if (f.allowImage !== undefined) policies.allowedImages = f.allowImage;
  if (Object.keys(policies).length === 0 && region === undefined)
    throw usageError('set-policy: name at least one policy flag (see --help)');
  return { policies, ...(region === undefined ? {} : { region }) };
}

/** Registers `wharf policy test`. */
export function registerPolicy(program: Command): void {
  const policy = program.command('policy').description('Admission policies of environments');
  policy
    .command('test')
    .description("What an environment's policies would say to deployment documents; changes nothing")
    .requiredOption('-f, --file <file>', 'the document(s); `-` reads standard input')
    .requiredOption('-e, --environment <env>', 'the environment whose policies judge them')
    .option('-o, --output <format>', 'table, json or yaml', outputFormat, 'table' as OutputFormat)
    .action(
      action(async (f: { file: string; environment: string; output: OutputFormat }) => {
        const text = f.file === '-' ? await readStdin() : await readInputText(f.file);
        const results: PolicyTestResponse[] = [];
        for (const raw of parseDocuments(text, f.file)) {
          const { environment: _e, ...doc } = withoutServerFields(raw);
          results.push(
            await call<PolicyTestResponse>(`/api/v1/environments/${encodeURIComponent(f.environment)}/policy-test`, {
              method: 'POST',
              json: doc,
            }),
          );
        }
        if (f.output !== 'table') printDocument(results, f.output);
        else for (const r of results) printResult(r);
        // Like a linter: a denial is a failed check (exit 1), so scripts and CI can gate on it.
        if (results.some((r) => !r.allowed)) process.exitCode = 1;
      }),
    );
}

function printResult(r: PolicyTestResponse): void {
  if (r.allowed) {
    process.stdout.write(`${r.name} (${r.change}) in ${r.environment}: allowed\n`);
    return;
  }
  process.stdout.write(`${r.name} (${r.change}) in ${r.environment}: denied, ${r.violations.length} violation(s)\n`);
  for (const v of r.violations) process.stdout.write(`  policies.${v.policy}: rule ${v.rule}: ${v.message}\n`);
}
