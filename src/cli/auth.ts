/**
 * `wharf auth`: who the CLI acts as. `wharf auth token` prints the token the CLI sends (from
 * WHARF_TOKEN or the credentials file of `wharf up`), for tools such as curl.
 */
import type { Command } from 'commander';
import { cliToken } from './client.js';
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
  return auth;
}
