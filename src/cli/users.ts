/**
 * `wharf user create | list | delete | set-password` and `wharf serviceaccount create | list |
 * delete` (users:admin). Passwords are read from a hidden prompt or `--password-stdin`, never from
 * a flag.
 */
import type { Command } from 'commander';
import type { ServiceAccountResponse, UserResponse } from '../api/identity-schemas.js';
import { call } from './client.js';
import { type OutputFormat, outputFormat, printDocument, printTable } from './output.js';
import { readPassword } from './password-input.js';
import { action } from './run-action.js';

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];
const path = (base: string, name: string): string => `${base}/${encodeURIComponent(name)}`;

/** Registers `user` and `serviceaccount`. */
export function registerUsers(program: Command): void {
  const user = program.command('user').description('Local users (needs users:admin)');

  user
    .command('create <name>')
    .description('Create a user (names are compared without case); --password-stdin or --ask-password sets a password')
    .option('--group <group>', 'a group the user is in (repeatable)', collect)
    .option('--password-stdin', 'read the password from standard input')
    .option('--ask-password', 'ask for the password on the terminal')
    .action(
      action(async (name: string, flags: { group?: string[]; passwordStdin?: boolean; askPassword?: boolean }) => {
        const password =
          flags.passwordStdin === true || flags.askPassword === true
            ? await readPassword(flags.passwordStdin)
            : undefined;
        const u = await call<UserResponse>('/api/v1/users', {
          method: 'POST',
          json: {
            name,
            ...(flags.group === undefined ? {} : { groups: flags.group }),
            ...(password === undefined ? {} : { password }),
          },
        });
        process.stdout.write(`created user ${u.name} (${u.id})${u.hasPassword ? ' with a password' : ''}\n`);
      }),
    );

  user
    .command('list')
    .description('List users')
    .option('-o, --output <format>', 'table, json or yaml', outputFormat, 'table' as OutputFormat)
    .action(
      action(async (flags: { output: OutputFormat }) => {
        const { items } = await call<{ items: UserResponse[] }>('/api/v1/users');
        if (flags.output !== 'table') return printDocument(items, flags.output);
        printTable(
          ['NAME', 'ID', 'GROUPS', 'PASSWORD', 'DISABLED', 'CREATED'],
          items.map((u) => [
            u.name,
            u.id,
            u.groups.join(',') || '-',
            u.hasPassword ? 'set' : '-',
            u.disabled ? 'yes' : 'no',
            u.createdAt,
          ]),
        );
      }),
    );

  user
    .command('set-password <name>')
    .description("Set a user's password (asked on the terminal, or --password-stdin)")
    .option('--password-stdin', 'read the password from standard input')
    .action(
      action(async (name: string, flags: { passwordStdin?: boolean }) => {
        const password = await readPassword(flags.passwordStdin, 'New password: ');
        const u = await call<UserResponse>(`${path('/api/v1/users', name)}/password`, {
          method: 'PUT',
          json: { password },
        });
        process.stdout.write(`password of ${u.name} set\n`);
      }),
    );

  user
    .command('delete <name>')
    .description('Delete a user and revoke their tokens')
    .action(
      action(async (name: string) => {
        const r = await call<{ deleted: string; revokedTokens: number }>(path('/api/v1/users', name), {
          method: 'DELETE',
        });
        process.stdout.write(`deleted user ${r.deleted} (${r.revokedTokens} token(s) revoked)\n`);
      }),
    );

  const sa = program
    .command('serviceaccount')
    .alias('sa')
    .description('Service accounts: principals for automation, acting through tokens (needs users:admin)');

  sa.command('create <name>')
    .description('Create a service account; then `wharf token create --service-account NAME`')
    .option('--description <text>', 'what it is for')
    .action(
      action(async (name: string, flags: { description?: string }) => {
        const s = await call<ServiceAccountResponse>('/api/v1/serviceaccounts', {
          method: 'POST',
          json: { name, ...(flags.description === undefined ? {} : { description: flags.description }) },
        });
        process.stdout.write(`created service account ${s.name} (${s.id})\n`);
      }),
    );

  sa.command('list')
    .description('List service accounts')
    .option('-o, --output <format>', 'table, json or yaml', outputFormat, 'table' as OutputFormat)
    .action(
      action(async (flags: { output: OutputFormat }) => {
        const { items } = await call<{ items: ServiceAccountResponse[] }>('/api/v1/serviceaccounts');
        if (flags.output !== 'table') return printDocument(items, flags.output);
        printTable(
          ['NAME', 'ID', 'DESCRIPTION', 'CREATED'],
          items.map((s) => [s.name, s.id, s.description || '-', s.createdAt]),
        );
      }),
    );

  sa.command('delete <name>')
    .description('Delete a service account and revoke its tokens')
    .action(
      action(async (name: string) => {
        const r = await call<{ deleted: string; revokedTokens: number }>(path('/api/v1/serviceaccounts', name), {
          method: 'DELETE',
        });
        process.stdout.write(`deleted service account ${r.deleted} (${r.revokedTokens} token(s) revoked)\n`);
      }),
    );
}
