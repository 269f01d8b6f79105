/**
 * `wharf deploy promote | abort | retry | apply`, `wharf approvals …`, `wharf incidents`,
 * `wharf env …`: rollout control and governance from the command line.
 */
import type { Command } from 'commander';
import type {
  ApprovalPageResponse,
  ApprovalResponse,
  DeploymentResponse,
  EnvironmentPageResponse,
  IncidentPageResponse,
  PendingApprovalResponse,
} from '../api/response-schemas.js';
import { ApiCallError, call } from './client.js';
import { CliError, EXIT_CODES, usageError } from './exit-codes.js';
import { readInputText } from './input-file.js';
import { integer } from './options.js';
import { parseDocuments, readStdin, withoutServerFields } from './deployment-documents.js';
import { registerSetPolicy } from './policy.js';
import { type OutputFormat, outputFormat, printDocument, printTable } from './output.js';
import { action } from './run-action.js';
import { waitForDeployment } from './wait.js';

const path = (env: string, name: string, rest = ''): string =>
  `/api/v1/environments/${encodeURIComponent(env)}/deployments/${encodeURIComponent(name)}${rest}`;

/** Prints what a change led to: the deployment's revision, or the approval it waits for. */
export function reportChange(result: DeploymentResponse | PendingApprovalResponse): result is DeploymentResponse {
  if ('approval' in result) {
    const a = result.approval;
    process.stdout.write(
      `approval ${a.id} requested: ${a.summary}\n${a.environment} requires approval; another person runs: wharf approvals approve ${a.id}\n`,
    );
    return false;
  }
  process.stdout.write(`deployment ${result.name} in ${result.environment}: revision ${result.revision}\n`);
  return true;
}

/** Registers the subcommands on `deploy` and the top-level `approvals`, `incidents`, `env`. */
export function registerRollout(program: Command, deploy: Command): void {
  const env = (c: Command): Command => c.requiredOption('-e, --environment <env>', 'environment, e.g. production');

  deploy
    .command('promote <name>')
    .description('Next rollout step (or --full); with --from/--to: copy a revision between environments')
    .option('-e, --environment <env>', 'environment of the rollout to promote')
    .option('--full', 'skip every remaining step and analysis')
    .option('--from <env>', 'promote the current revision of this environment …')
    .option('--to <env>', '… into this environment (its strategy and approval policy apply)')
    .option('--reason <text>', 'why, for the history')
    .action(
      action(
        async (
          name: string,
          f: { environment?: string; full?: boolean; from?: string; to?: string; reason?: string },
        ) => {
          if (f.from !== undefined || f.to !== undefined) {
            if (f.from === undefined || f.to === undefined) throw usageError('--from and --to go together');
            const result = await call<DeploymentResponse | PendingApprovalResponse>(
              `/api/v1/deployments/${encodeURIComponent(name)}/promotions`,
              { method: 'POST', json: { from: f.from, to: f.to, ...(f.reason ? { reason: f.reason } : {}) } },
            );
            reportChange(result);
            return;
          }
          if (f.environment === undefined)
            throw usageError('say which rollout: -e ENV (or --from/--to to promote between environments)');
          const d = await call<DeploymentResponse>(path(f.environment, name, '/promote'), {
            method: 'POST',
            json: { ...(f.full ? { full: true } : {}), ...(f.reason ? { reason: f.reason } : {}) },
          });
          process.stdout.write(
            `${f.full ? 'full promotion' : 'promotion'} of ${d.name} revision ${d.revision} requested\n`,
          );
        },
      ),
    );

  for (const [verb, what] of [
    ['abort', 'Stop the rollout: all traffic back to the stable revision'],
    ['retry', 'Start an aborted rollout again from its first step'],
  ] as const) {
    env(deploy.command(`${verb} <name>`).description(what))
      .option('--reason <text>', 'why, for the history')
      .action(
        action(async (name: string, f: { environment: string; reason?: string }) => {
          const d = await call<DeploymentResponse>(path(f.environment, name, `/${verb}`), {
            method: 'POST',
            json: f.reason ? { reason: f.reason } : {},
          });
          process.stdout.write(`${verb} of ${d.name} revision ${d.revision} requested\n`);
        }),
      );
  }

  deploy
    .command('apply')
    .description('Create or update deployments from a YAML or JSON file (several documents allowed)')
    .requiredOption('-f, --file <file>', 'the document(s); `-` reads standard input')
    .option('--wait', 'wait until each deployment runs its new revision')
    .option('--timeout <seconds>', 'how long --wait waits', integer(1, 86_400), 300)
    .action(
      action(async (f: { file: string; wait?: boolean; timeout: number }) => {
        const text = f.file === '-' ? await readStdin() : await readInputText(f.file);
        for (const doc of parseDocuments(text, f.file)) {
          const d = await applyDocument(doc);
          if (d !== undefined && f.wait) await waitForDeployment(d.environment, d.name, f.timeout * 1000);
        }
      }),
    );

  const approvals = program.command('approvals').description('Changes waiting for approval, and decisions');
  approvals
    .command('list', { isDefault: true })
    .description('List approvals')
    .option('-e, --environment <env>', 'only this environment')
    .option('--state <state>', 'pending, approved, rejected or failed')
    .option('-o, --output <format>', 'table, json or yaml', outputFormat, 'table' as OutputFormat)
    .action(
      action(async (f: { environment?: string; state?: string; output: OutputFormat }) => {
        const { items } = await call<ApprovalPageResponse>('/api/v1/approvals', {
          query: { environment: f.environment, state: f.state },
        });
        if (f.output !== 'table') return printDocument(items, f.output);
        printTable(
          ['ID', 'ENV', 'STATE', 'REQUESTED BY', 'DECIDED BY', 'CHANGE'],
          items.map((a) => [a.id, a.environment, a.state, a.requestedBy, a.decidedBy ?? '-', a.summary]),
        );
      }),
    );
  for (const verb of ['approve', 'reject'] as const) {
    approvals
      .command(`${verb} <id>`)
      .description(`${verb === 'approve' ? 'Approve and apply' : 'Reject'} a pending change (not your own)`)
      .option('--comment <text>', 'recorded with the decision')
      .action(
        action(async (id: string, f: { comment?: string }) => {
          const a = await call<ApprovalResponse>(`/api/v1/approvals/${encodeURIComponent(id)}/${verb}`, {
            method: 'POST',
            json: f.comment ? { comment: f.comment } : {},
          });
          process.stdout.write(`approval ${a.id}: ${a.state}${a.result ? ` (${a.result})` : ''}\n`);
        }),
      );
  }

  program
    .command('incidents')
    .description('Rollouts stopped automatically, and why')
    .option('-e, --environment <env>', 'only this environment')
    .option('-o, --output <format>', 'table, json or yaml', outputFormat, 'table' as OutputFormat)
    .action(
      action(async (f: { environment?: string; output: OutputFormat }) => {
        const { items } = await call<IncidentPageResponse>('/api/v1/incidents', {
          query: { environment: f.environment },
        });
        if (f.output !== 'table') return printDocument(items, f.output);
        printTable(
          ['TIME', 'ENV', 'DEPLOYMENT', 'REVISION', 'REASON', 'MESSAGE'],
          items.map((i) => [i.time, i.environment, i.deploymentName, String(i.revision), i.reason, i.message]),
        );
      }),
    );

  const envs = program.command('env').description('Environments and their policies');
  envs.command('list', { isDefault: true }).action(
    action(async () => {
      const { items } = await call<EnvironmentPageResponse>('/api/v1/environments');
      printTable(
        ['NAME', 'RUNTIME', 'REQUIRES APPROVAL'],
        items.map((e) => [e.name, e.runtime, String(e.policies.requiresApproval)]),
      );
    }),
  );
  registerSetPolicy(envs);
}

/** Creates the deployment when it does not exist, else updates it; an unchanged document changes nothing. */
async function applyDocument(raw: Record<string, unknown>): Promise<DeploymentResponse | undefined> {
  const kind = raw.kind ?? 'Deployment';
  if (kind === 'AnalysisTemplate') {
    const { kind: _k, apiVersion: _a, resourceVersion: _r, ...template } = raw;
    await call(`/api/v1/analysis-templates/${encodeURIComponent(String(template.name))}`, {
      method: 'PUT',
      json: template,
    });
    process.stdout.write(`analysis template ${String(template.name)} applied\n`);
    return undefined;
  }
  if (kind !== 'Deployment')
    throw usageError(`kind: must be Deployment or AnalysisTemplate, got ${JSON.stringify(kind)}`);
  const doc = withoutServerFields(raw);
  const { name, environment } = doc as { name?: unknown; environment?: unknown };
  if (typeof name !== 'string' || typeof environment !== 'string')
    throw usageError('name and environment: required in every deployment document');
  let existing: DeploymentResponse | undefined;
  try {
    existing = await call<DeploymentResponse>(path(environment, name));
  } catch (error) {
    if (!(error instanceof ApiCallError && error.status === 404)) throw error;
  }
  if (existing === undefined) {
    const created = await call<DeploymentResponse | PendingApprovalResponse>('/api/v1/deployments', {
      method: 'POST',
      json: doc,
    });
    return reportChange(created) ? created : undefined;
  }
  const { name: _n, environment: _e, type: _t, ...patch } = doc;
  // A document read with `get -o yaml` carries the resourceVersion it was read at: sent back, the
  // API refuses it with 409 when the deployment changed since, instead of overwriting that change.
  const expected = raw.resourceVersion;
  if (expected !== undefined && expected !== null) patch.resourceVersion = expected;
  const updated = await call<DeploymentResponse | PendingApprovalResponse>(path(environment, name), {
    method: 'PATCH',
    json: patch,
  }).catch((error: unknown) => {
    if (!(error instanceof ApiCallError && error.status === 409 && patch.resourceVersion !== undefined)) throw error;
    throw new CliError(
      `deployment ${name} in ${environment} changed since the document was read (its resourceVersion ${String(patch.resourceVersion)} is stale, now ${existing.resourceVersion}): ` +
        `get it again (wharf deploy get ${name} -e ${environment} -o yaml) and redo the edit, or remove resourceVersion from the document to overwrite`,
      EXIT_CODES.conflict.code,
    );
  });
  if ('approval' in updated) {
    reportChange(updated);
    return undefined;
  }
  process.stdout.write(
    updated.revision === existing.revision
      ? `deployment ${name} in ${environment}: unchanged (revision ${existing.revision})\n`
      : `deployment ${name} in ${environment}: revision ${updated.revision}\n`,
  );
  // Unchanged too: `--wait` then waits for the current revision (e.g. a canary paused until promoted).
  return updated;
}
