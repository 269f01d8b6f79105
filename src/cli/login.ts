/**
 * `wharf login` and `wharf logout`: a session for a local user. Login sends the name and password
 * to `POST /api/v1/auth/login` and writes the token it answers to `$WHARF_HOME/cli-session` (0600),
 * which the CLI then sends (WHARF_TOKEN still wins). Logout revokes that token and removes the file.
 */
import { rmSync } from 'node:fs';
import type { Command } from 'commander';
import type { LoginAnswerResponse } from '../api/identity-schemas.js';
import { readCredentials, sessionPath, writeCredentials } from '../server/credentials-file.js';
import { ApiCallError, apiBase, call, cliHome } from './client.js';
import { prompt, readPassword } from './password-input.js';
import { action } from './run-action.js';
import { mkdirSync } from 'node:fs';

/** Registers `login` and `logout`. */
export function registerLogin(program: Command): void {
  program
    .command('login')
    .description('Log in as a local user: the session token (12 h) goes to $WHARF_HOME/cli-session (0600)')
    .option('--user <name>', 'user name (asked when not given)')
    .option('--password-stdin', 'read the password from standard input instead of asking')
    .action(
      action(async (flags: { user?: string; passwordStdin?: boolean }) => {
        const name = flags.user ?? (await prompt('User: ', false));
        const password = await readPassword(flags.passwordStdin);
        const answer = await call<LoginAnswerResponse>('/api/v1/auth/login', {
          method: 'POST',
          json: { name, password },
          token: null,
        });
        mkdirSync(cliHome(), { recursive: true });
        const file = sessionPath(cliHome());
        writeCredentials(file, { apiUrl: apiBase(), user: answer.user.name, token: answer.token });
        process.stdout.write(`logged in as ${answer.user.name} until ${answer.expiresAt} (session in ${file})\n`);
        if (process.env.WHARF_TOKEN?.trim())
          process.stderr.write('wharf: note: WHARF_TOKEN is set and is sent instead of this session\n');
      }),
    );

  program
    .command('logout')
    .description('Revoke the session token of `wharf login` and remove $WHARF_HOME/cli-session')
    .action(
      action(async () => {
        const file = sessionPath(cliHome());
        const session = readCredentials(file);
        if (session === undefined) {
          process.stdout.write('not logged in (no session in $WHARF_HOME/cli-session)\n');
          return;
        }
        try {
          await call('/api/v1/auth/logout', { method: 'POST', token: session.token });
        } catch (e) {
          // A session already revoked or expired is as good as logged out; anything else is reported.
          if (!(e instanceof ApiCallError && e.status === 401)) throw e;
        }
        rmSync(file, { force: true });
        process.stdout.write(`logged out ${session.user}\n`);
      }),
    );
}
