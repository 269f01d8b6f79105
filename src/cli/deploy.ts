/** `wharf deploy …`: create and manage deployments through the control plane API. */
import type { Command } from 'commander';
import type {
  DeploymentPageResponse,
  DeploymentResponse,
  DiffResult,
  EventPageResponse,
  PendingApprovalResponse,
  RevisionPageResponse,
} from '../api/response-schemas.js';
import { call } from './client.js';
import { holdingConditionLines } from './conditions.js';
import { type OutputFormat, outputFormat, printDocument, printTable } from './output.js';
import { integer } from './options.js';
import { registerRollout, reportChange } from './rollout.js';
import { action } from './run-action.js';
import { waitForDeployment } from './wait.js';
import { autoscalingLines, type AutoscalingView, registerAutoscale } from './autoscale.js';
import { servingSummary } from '../core/serving-summary.js';

const path = (env: string, name: string, rest = ''): string =>
  `/api/v1/environments/${encodeURIComponent(env)}/deployments/${encodeURIComponent(name)}${rest}`;

interface Target {
  environment: string;
}
interface WaitFlags {
  wait?: boolean;
  timeout: number;
}

/** Registers `deploy` and its subcommands. */
export function registerDeploy(program: Command): void {
  const deploy = program.command('deploy').description('Create and manage deployments');
  const env = (c: Command): Command => c.requiredOption('-e, --environment <env>', 'environment, e.g. development');
  const waitable = (c: Command): Command =>
    c
      .option('--wait', 'wait until the deployment is running; fail with its message otherwise')
      .option('--timeout <seconds>', 'how long --wait waits', integer(1, 86_400), 300);
  const finish = async (d: DeploymentResponse | PendingApprovalResponse, flags: WaitFlags): Promise<void> => {
    if (reportChange(d) && flags.wait) await waitForDeployment(d.environment, d.name, flags.timeout * 1000);
  };

  waitable(deploy.command('create').description('Deploy a model version to an environment'))
    .requiredOption('--name <name>', 'deployment name')
    .requiredOption('--model <model>', 'model name in the registry')
    .requiredOption('--version <semver>', 'model version')
    .requiredOption('-e, --environment <env>', 'environment')
    .option('--replicas <n>', 'replicas', integer(0, 100), 1)
    .action(
      action(
        async (
          f: { name: string; model: string; version: string; environment: string; replicas: number } & WaitFlags,
        ) => {
          const body = {
            name: f.name,
            environment: f.environment,
            model: { name: f.model, version: f.version },
            configuration: { replicas: f.replicas },
          };
          await finish(await call<DeploymentResponse>('/api/v1/deployments', { method: 'POST', json: body }), f);
        },
      ),
    );

  env(deploy.command('get <name>').description('Show a deployment'))
    .option('-o, --output <format>', 'table, json or yaml', outputFormat, 'table' as OutputFormat)
    .action(
      action(async (name: string, f: Target & { output: OutputFormat }) => {
        const d = await call<DeploymentResponse>(path(f.environment, name));
        if (f.output !== 'table') return printDocument(d, f.output);
        printTable(TABLE_HEADERS, [row(d)]);
        if (d.status.message) process.stdout.write(`\n${d.status.message}\n`);
        for (const line of holdingConditionLines(d)) process.stdout.write(`${line}\n`);
        const r = d.status.rollout;
        if (r !== undefined) {
          const split = r.traffic.targets.map((t) => `revision ${t.revision} ${t.weight}%`).join(', ');
          process.stdout.write(
            `rollout: ${d.strategy.type} ${r.phase.toLowerCase()}; stable ${r.stable ?? '-'}${r.canary === undefined ? '' : `, new ${r.canary}`}; traffic ${split || 'none'}${r.traffic.mirror ? `; mirror ${r.traffic.mirror.percent}% to ${r.traffic.mirror.revision}` : ''}\n`,
          );
          if (r.shadow !== undefined) process.stdout.write(`shadow: ${JSON.stringify(r.shadow)}\n`);
          if (d.endpoints.preview) process.stdout.write(`preview: ${d.endpoints.preview}\n`);
        }
        const lines = autoscalingLines(await call<AutoscalingView>(path(f.environment, name, '/autoscaling')));
        if (lines.length > 0) process.stdout.write(`${lines.join('\n')}\n`);
      }),
    );

  deploy
    .command('list')
    .description('List deployments')
    .option('-e, --environment <env>', 'only this environment')
    .option('-o, --output <format>', 'table, json or yaml', outputFormat, 'table' as OutputFormat)
    .action(
      action(async (f: Partial<Target> & { output: OutputFormat }) => {
        const { items } = await call<DeploymentPageResponse>('/api/v1/deployments', {
          query: { environment: f.environment },
        });
        if (f.output !== 'table') return printDocument(items, f.output);
        printTable(TABLE_HEADERS, items.map(row));
      }),
    );

  waitable(env(deploy.command('scale <name>').description('Change the number of replicas')))
    .requiredOption('--replicas <n>', 'replicas', integer(0, 100))
    .action(
      action(async (name: string, f: Target & WaitFlags & { replicas: number }) => {
        await finish(
          await call<DeploymentResponse>(path(f.environment, name, '/scale'), {
            method: 'POST',
            json: { replicas: f.replicas },
          }),
          f,
        );
      }),
    );

  waitable(env(deploy.command('update <name>').description('Change the model version or replicas (a new revision)')))
    .option('--version <semver>', 'new model version')
    .option('--model <model>', 'new model (with --version)')
    .option('--replicas <n>', 'replicas', integer(0, 100))
    .option('--reason <text>', 'why, for the history')
    .action(
      action(
        async (
          name: string,
          f: Target & WaitFlags & { version?: string; model?: string; replicas?: number; reason?: string },
        ) => {
          const current = await call<DeploymentResponse>(path(f.environment, name));
          const patch: Record<string, unknown> = {
            resourceVersion: current.resourceVersion,
            ...(f.reason ? { reason: f.reason } : {}),
          };
          if (f.version) patch.model = { name: f.model ?? current.model?.name, version: f.version };
          if (f.replicas !== undefined) patch.configuration = { replicas: f.replicas };
          await finish(await call<DeploymentResponse>(path(f.environment, name), { method: 'PATCH', json: patch }), f);
        },
      ),
    );

  waitable(
    env(deploy.command('rollback <name>').description('Make an earlier revision current again (as a new revision)')),
  )
    .option(
      '--to-revision <n>',
      'revision to go back to (default: the previous one)',
      integer(1, Number.MAX_SAFE_INTEGER),
    )
    .action(
      action(async (name: string, f: Target & WaitFlags & { toRevision?: number }) => {
        await finish(
          await call<DeploymentResponse>(path(f.environment, name, '/rollback'), {
            method: 'POST',
            json: f.toRevision ? { toRevision: f.toRevision } : {},
          }),
          f,
        );
      }),
    );

  env(deploy.command('delete <name>').description('Stop and delete a deployment')).action(
    action(async (name: string, f: Target) => {
      await call(path(f.environment, name), { method: 'DELETE' });
      process.stdout.write(`deployment ${name} in ${f.environment} is being deleted\n`);
    }),
  );

  env(deploy.command('history <name>').description('Revisions: who, when, why, which model version'))
    .option('-o, --output <format>', 'table, json or yaml', outputFormat, 'table' as OutputFormat)
    .action(
      action(async (name: string, f: Target & { output: OutputFormat }) => {
        const { items } = await call<RevisionPageResponse>(path(f.environment, name, '/revisions'));
        if (f.output !== 'table') return printDocument(items, f.output);
        printTable(
          ['REVISION', 'CREATED', 'BY', 'MODEL', 'REPLICAS', 'REASON'],
          items.map((r) => [
            String(r.number),
            r.createdAt,
            r.createdBy,
            r.spec.model ? `${r.spec.model.name} ${r.spec.model.version}` : '-',
            String(r.spec.configuration.replicas),
            r.reason,
          ]),
        );
      }),
    );

  env(deploy.command('diff <name> <a> <b>').description('Field-level difference between two revisions')).action(
    action(async (name: string, a: string, b: string, f: Target) => {
      const diff = await call<DiffResult>(path(f.environment, name, '/diff'), { query: { a, b } });
      process.stdout.write(diff.text.endsWith('\n') ? diff.text : `${diff.text}\n`);
    }),
  );

  registerRollout(program, deploy);
  registerAutoscale(deploy, path);

  env(deploy.command('events <name>').description('What happened to a deployment')).action(
    action(async (name: string, f: Target) => {
      const { items } = await call<EventPageResponse>(path(f.environment, name, '/events'));
      printTable(
        ['TIME', 'TYPE', 'REASON', 'MESSAGE'],
        items.map((e) => [e.time, e.type, e.reason, e.message]),
      );
    }),
  );
}

/** MODEL and REVISION are what the spec asks for; SERVING is what takes traffic now (they differ mid-rollout and after an abort). */
const TABLE_HEADERS = ['NAME', 'ENV', 'MODEL', 'REVISION', 'READY', 'PHASE', 'SERVING', 'ENDPOINT'] as const;

function row(d: DeploymentResponse): string[] {
  return [
    d.name,
    d.environment,
    d.model ? `${d.model.name} ${d.model.version}` : '-',
    String(d.revision),
    `${d.status.readyReplicas}/${d.status.desiredReplicas ?? d.configuration.replicas}`,
    d.status.phase,
    servingSummary(d.status),
    d.endpoints.external ?? '-',
  ];
}
