/**
 * `wharf token create | list | revoke`: API tokens for scripts and CI. A new token is printed once
 * (its string is never shown again); `--service-account NAME` makes one for a service account
 * (needs tokens:admin).
 */
import type { Command } from 'commander';
import type { TokenCreatedResponse, TokenResponse } from '../api/identity-schemas.js';
import { call } from './client.js';
import { type OutputFormat, outputFormat, printDocument, printTable } from './output.js';
import { action } from './run-action.js';

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

/** Registers `token` and its subcommands. */
export function registerToken(program: Command): void {
  const token = program.command('token').description('API tokens: create (shown once), list, revoke');

  token
    .command('create')
    .description('Create a token acting as you (or a service account); prints the token once')
    .requiredOption('--name <name>', 'what it is for, e.g. "ci deploys"')
    .option(
      '--scope <scope>',
      'a permission (deployments:read), infer:<env>[/<deployment>] or * (repeatable; default *)',
      collect,
    )
    .option('--expires <duration>', 'lifetime: m, h, d, w or y, at most 1y', '30d')
    .option('--service-account <name>', 'make it for this service account (needs tokens:admin)')
    .option('-o, --output <format>', 'table (the token alone), json or yaml', outputFormat, 'table' as OutputFormat)
    .action(
      action(
        async (flags: {
          name: string;
          scope?: string[];
          expires: string;
          serviceAccount?: string;
          output: OutputFormat;
        }) => {
          const created = await call<TokenCreatedResponse>('/api/v1/tokens', {
            method: 'POST',
            json: {
              name: flags.name,
              expiresIn: flags.expires,
              ...(flags.scope === undefined ? {} : { scopes: flags.scope }),
              ...(flags.serviceAccount === undefined ? {} : { serviceAccount: flags.serviceAccount }),
            },
          });
          if (flags.output !== 'table') return printDocument(created, flags.output);
          process.stdout.write(`${created.token}\n`);
          process.stderr.write(
            `token ${created.id} for ${created.ownerName}, scopes ${created.scopes.join(',')}, expires ${created.expiresAt}; it is not shown again\n`,
          );
        },
      ),
    );

  token
    .command('list')
    .description('Your tokens (everyone’s with tokens:admin): never their strings')
    .option('-o, --output <format>', 'table, json or yaml', outputFormat, 'table' as OutputFormat)
    .action(
      action(async (flags: { output: OutputFormat }) => {
        const { items } = await call<{ items: TokenResponse[] }>('/api/v1/tokens');
        if (flags.output !== 'table') return printDocument(items, flags.output);
        printTable(
          ['ID', 'NAME', 'OWNER', 'SCOPES', 'STATE', 'EXPIRES', 'LAST USED'],
          items.map((t) => [
            t.id,
            t.name,
            t.ownerName,
            t.scopes.join(','),
            t.state,
            t.expiresAt ?? 'never',
            t.lastUsedAt ?? '-',
          ]),
        );
      }),
    );

  token
    .command('revoke <id>')
    .description('Revoke a token by id: refused from the next request on')
    .action(
      action(async (id: string) => {
        const t = await call<TokenResponse>(`/api/v1/tokens/${encodeURIComponent(id)}`, { method: 'DELETE' });
        process.stdout.write(`revoked token ${t.id} (${t.name}) of ${t.ownerName}\n`);
      }),
    );
}
