/**
 * `wharf audit list | verify | export`: the tamper-evident audit trail. `verify` exits non-zero
 * (1) and names the first bad event when the chain or its checkpoints do not hold.
 */
import type { Command } from 'commander';
import type { AuditEvent } from '../core/resources/audit-event.js';
import type { AuditVerification } from '../core/audit/verify.js';
import { call, request } from './client.js';
import { CliError, EXIT_CODES } from './exit-codes.js';
import { integer } from './options.js';
import { type OutputFormat, outputFormat, printDocument, printTable } from './output.js';
import { action } from './run-action.js';

type ListedEvent = Omit<AuditEvent, 'resourceVersion'>;

/** Registers `audit` and its subcommands. */
export function registerAudit(program: Command): void {
  const audit = program.command('audit').description('Read, verify and export the tamper-evident audit trail');

  audit
    .command('list')
    .description('List audit events, oldest first')
    .option('--since <time>', 'only events at or after this ISO-8601 time')
    .option('--actor <actor>', 'principal id (user:…) or name')
    .option('--action <action>', 'an action (deployments.create) or a prefix ending in "." (deployments.)')
    .option('--resource <resource>', 'kind/name (deployment/risk), a kind or a name')
    .option('-e, --environment <env>', 'only this environment')
    .option('--outcome <outcome>', 'success, denied or failed')
    .option('--limit <n>', 'at most this many events (default: all)', integer(1))
    .option('-o, --output <format>', 'table, json or yaml', outputFormat, 'table' as OutputFormat)
    .action(
      action(
        async (flags: {
          since?: string;
          actor?: string;
          action?: string;
          resource?: string;
          environment?: string;
          outcome?: string;
          limit?: number;
          output: OutputFormat;
        }) => {
          const items: ListedEvent[] = [];
          let next: string | undefined;
          do {
            const want = flags.limit === undefined ? 1000 : Math.min(1000, flags.limit - items.length);
            const page = await call<{ items: ListedEvent[]; continue?: string }>('/api/v1/audit', {
              query: {
                since: flags.since,
                actor: flags.actor,
                action: flags.action,
                resource: flags.resource,
                environment: flags.environment,
                outcome: flags.outcome,
                limit: want,
                continue: next,
              },
            });
            items.push(...page.items);
            next = page.continue;
          } while (next !== undefined && (flags.limit === undefined || items.length < flags.limit));
          if (flags.output !== 'table') return printDocument(items, flags.output);
          printTable(
            ['SEQ', 'TIME', 'ACTOR', 'ACTION', 'RESOURCE', 'ENV', 'OUTCOME', 'STATUS'],
            items.map((e) => [
              String(e.seq),
              e.time,
              e.actor.name,
              e.action,
              `${e.resource.kind}${e.resource.name === null ? '' : `/${e.resource.name}`}`,
              e.environment ?? '-',
              e.outcome,
              e.status === null ? '-' : String(e.status),
            ]),
          );
        },
      ),
    );

  audit
    .command('verify')
    .description('Check the hash chain and its signed checkpoints; exit 1 naming the first bad event')
    .option('-o, --output <format>', 'table, json or yaml', outputFormat, 'table' as OutputFormat)
    .action(
      action(async (flags: { output: OutputFormat }) => {
        const result = await call<AuditVerification>('/api/v1/audit/verify');
        if (flags.output !== 'table') printDocument(result, flags.output);
        else if (result.ok)
          process.stdout.write(
            `audit trail OK: ${result.events} events, last ${result.last.seq} (${result.last.hash.slice(0, 16)}…), ${result.checkpoints} signed checkpoints\n`,
          );
        else for (const p of result.problems) process.stdout.write(`${p.reason}: ${p.message}\n`);
        if (!result.ok)
          throw new CliError(
            `audit trail does not verify: ${result.firstProblem?.message ?? 'unknown problem'}`,
            EXIT_CODES.failed.code,
          );
      }),
    );

  audit
    .command('export')
    .description('Write the whole chain as JSON Lines (one event per line) to standard output')
    .action(
      action(async () => {
        const res = await request('/api/v1/audit/export');
        if (res.body === null) return;
        for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) process.stdout.write(chunk);
      }),
    );
}
