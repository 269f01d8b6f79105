/**
 * `wharf auth`: who the CLI acts as. `wharf auth token` prints the token the CLI sends (from
 * WHARF_TOKEN, the session of `wharf login`, or the credentials file of `wharf up`), for tools such
 * as curl; `wharf auth whoami` asks the API who that token is.
 */
import type { Command } from 'commander';
import type { WhoamiAnswer } from '../api/identity-schemas.js';
import { call, cliToken } from './client.js';
import { type OutputFormat, outputFormat, printDocument } from './output.js';
import { action } from './run-action.js';

/** Adds `wharf auth` and returns it, for other modules' subcommands. */
export function registerAuth(program: Command): Command {
  const auth = program.command('auth').description('Credentials: which token the CLI sends, who it acts as');
  auth
    .command('token')
    .description(
      'Print the token the CLI sends (WHARF_TOKEN, or $WHARF_HOME/credentials), e.g. for curl -H "authorization: Bearer $(wharf auth token)"',
    )
    .action(
      action(async () => {
        const token = cliToken();
        if (token === undefined)
          throw new Error(
            'no token: set WHARF_TOKEN, or run where `wharf up` keeps its home (./.wharf or $WHARF_HOME)',
          );
        process.stdout.write(`${token}\n`);
      }),
    );
  auth
    .command('whoami')
    .description('Who the CLI acts as: principal id and name, groups, how it authenticated, token and expiry')
    .option('-o, --output <format>', 'table, json or yaml', outputFormat, 'table' as OutputFormat)
    .action(
      action(async (flags: { output: OutputFormat }) => {
        const me = await call<WhoamiAnswer>('/api/v1/auth/whoami');
        if (flags.output !== 'table') return printDocument(me, flags.output);
        const lines = [
          ['name', me.name],
          ['id', me.id],
          ['type', me.type],
          ['groups', me.groups.length === 0 ? '-' : me.groups.join(', ')],
          ['via', me.via],
          ...(me.tokenId === undefined ? [] : [['token', me.tokenId]]),
          ...(me.scopes === undefined ? [] : [['scopes', me.scopes.join(', ')]]),
          ['expires', me.expiresAt ?? 'never'],
        ];
        process.stdout.write(lines.map(([k, v]) => `${`${k}:`.padEnd(9)}${v}`).join('\n') + '\n');
      }),
    );
  return auth;
}
