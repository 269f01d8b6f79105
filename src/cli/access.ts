/**
 * `wharf auth can-i <verb> [-e ENV] [--as USER]` (yes or no, exit 0 or 1, like kubectl; the reason
 * on stderr), `wharf role list|get|create|delete` and `wharf rolebinding list|create|delete`. The
 * answers come from the API's Authorizer, the code path every request goes through.
 */
import type { Command } from 'commander';
import type { z } from 'zod';
import type { CanIResponse, RoleBindingBody, RoleBody } from '../api/access-schemas.js';
import { call } from './client.js';
import { EXIT_CODES, usageError } from './exit-codes.js';
import { type OutputFormat, outputFormat, printDocument, printTable } from './output.js';
import { action } from './run-action.js';

type CanI = z.infer<typeof CanIResponse>;
type RoleView = z.infer<typeof RoleBody>;
type Binding = z.infer<typeof RoleBindingBody>;

/** The `auth` command, shared with the authentication commands (login, whoami) whichever registers first. */
function authCommand(program: Command): Command {
  return (
    program.commands.find((c) => c.name() === 'auth') ??
    program.command('auth').description('Who you are and what you may do')
  );
}

const outputOption = ['-o, --output <format>', 'table, json or yaml', outputFormat, 'table' as OutputFormat] as const;

/** A subject flag's value: a principal id (`user:…`, `sa:…`) as is, else a name. */
function subjectRef(type: 'user' | 'serviceAccount' | 'group', value: string) {
  if (type !== 'group' && /^(user|sa|oidc):/.test(value)) return { type, id: value };
  return type === 'group' ? { type, id: value } : { type, name: value };
}

/** Registers the commands on `program`. */
export function registerAccess(program: Command): void {
  authCommand(program)
    .command('can-i <verb>')
    .description(
      'Whether you (or --as USER) may do something: deploy, update, scale, rollback, delete, promote, abort, retry, approve, push, infer, or a permission such as secrets:read',
    )
    .option('-e, --environment <env>', 'in this environment (default: in any)')
    .option('--project <project>', 'in this project (default: default)')
    .option('--as <user>', 'ask for another user (a name or principal id); needs roles:admin')
    .action(
      action(async (verb: string, f: { environment?: string; project?: string; as?: string }) => {
        const answer = await call<CanI>('/api/v1/auth/can-i', {
          query: { permission: verb, environment: f.environment, project: f.project, as: f.as },
        });
        process.stdout.write(`${answer.allowed ? 'yes' : 'no'}\n`);
        process.stderr.write(`${answer.reason}\n`);
        if (!answer.allowed) process.exit(EXIT_CODES.failed.code);
      }),
    );

  const role = program.command('role').description('Roles: the built-in ones and custom sets of permissions');
  role
    .command('list', { isDefault: true })
    .description('List roles')
    .option(...outputOption)
    .action(
      action(async (f: { output: OutputFormat }) => {
        const { items } = await call<{ items: RoleView[] }>('/api/v1/roles');
        if (f.output !== 'table') return printDocument(items, f.output);
        printTable(
          ['NAME', 'KIND', 'PERMISSIONS', 'DESCRIPTION'],
          items.map((r) => [
            r.name,
            r.builtin ? 'built-in' : 'custom',
            r.permissions.length > 6 ? `${r.permissions.length} permissions` : r.permissions.join(','),
            r.description,
          ]),
        );
      }),
    );
  role
    .command('get <name>')
    .description('Show a role and its permissions')
    .option(...outputOption)
    .action(
      action(async (name: string, f: { output: OutputFormat }) => {
        const r = await call<RoleView>(`/api/v1/roles/${encodeURIComponent(name)}`);
        if (f.output !== 'table') return printDocument(r, f.output);
        process.stdout.write(
          `${r.name} (${r.builtin ? 'built-in' : 'custom'}): ${r.description}\n${r.permissions.map((p) => `  ${p}`).join('\n')}\n`,
        );
      }),
    );
  role
    .command('create <name>')
    .description('Create a custom role')
    .requiredOption('--permission <permissions...>', 'permissions it grants, e.g. rollouts:promote deployments:read')
    .option('--description <text>', 'what it is for')
    .action(
      action(async (name: string, f: { permission: string[]; description?: string }) => {
        const permissions = f.permission.flatMap((p) => p.split(',')).filter((p) => p !== '');
        const r = await call<RoleView>('/api/v1/roles', {
          method: 'POST',
          json: { name, permissions, ...(f.description === undefined ? {} : { description: f.description }) },
        });
        process.stdout.write(`role ${r.name} created: ${r.permissions.join(', ')}\n`);
      }),
    );
  role
    .command('delete <name>')
    .description('Delete a custom role no binding uses')
    .action(
      action(async (name: string) => {
        await call(`/api/v1/roles/${encodeURIComponent(name)}`, { method: 'DELETE' });
        process.stdout.write(`role ${name} deleted\n`);
      }),
    );

  const binding = program.command('rolebinding').description('Who has which role, in which project and environment');
  binding
    .command('list', { isDefault: true })
    .description('List role bindings')
    .option('-e, --environment <env>', 'only bindings in this environment (`*` for those in every one)')
    .option(...outputOption)
    .action(
      action(async (f: { environment?: string; output: OutputFormat }) => {
        const { items } = await call<{ items: Binding[] }>('/api/v1/rolebindings', {
          query: { environment: f.environment },
        });
        if (f.output !== 'table') return printDocument(items, f.output);
        printTable(
          ['ID', 'SUBJECT', 'ROLE', 'PROJECT', 'ENV', 'CREATED BY'],
          items.map((b) => [
            b.id,
            `${b.subject.type}:${b.subject.id}`.replace(/^(user|serviceAccount):(user|sa):/, '$2:'),
            b.role,
            b.project,
            b.environment,
            b.createdBy,
          ]),
        );
      }),
    );
  binding
    .command('create')
    .description('Grant a role to a user, service account or group')
    .option('--user <name>', 'a user name or principal id')
    .option('--service-account <name>', 'a service account name or principal id')
    .option('--group <name>', 'a group (from the user record or the OIDC groups claim)')
    .requiredOption('--role <role>', 'viewer, deployer, approver, admin or a custom role')
    .option('-e, --environment <env>', 'the environment (default: every one, `*`)')
    .option('--project <project>', 'the project (default: default)')
    .action(
      action(
        async (f: {
          user?: string;
          serviceAccount?: string;
          group?: string;
          role: string;
          environment?: string;
          project?: string;
        }) => {
          const given = [
            f.user === undefined ? undefined : subjectRef('user', f.user),
            f.serviceAccount === undefined ? undefined : subjectRef('serviceAccount', f.serviceAccount),
            f.group === undefined ? undefined : subjectRef('group', f.group),
          ].filter((s) => s !== undefined);
          if (given.length !== 1) throw usageError('give exactly one of --user, --service-account and --group');
          const b = await call<Binding>('/api/v1/rolebindings', {
            method: 'POST',
            json: {
              subject: given[0],
              role: f.role,
              ...(f.environment === undefined ? {} : { environment: f.environment }),
              ...(f.project === undefined ? {} : { project: f.project }),
            },
          });
          process.stdout.write(
            `role binding ${b.id}: ${b.subject.type} ${b.subject.id} is ${b.role} in ${b.project}/${b.environment}\n`,
          );
        },
      ),
    );
  binding
    .command('delete <id>')
    .description('Revoke a role binding (effective at the next request)')
    .action(
      action(async (id: string) => {
        await call(`/api/v1/rolebindings/${encodeURIComponent(id)}`, { method: 'DELETE' });
        process.stdout.write(`role binding ${id} deleted\n`);
      }),
    );
}
