/**
 * `wharf secret`: `set NAME -e ENV --from-literal K=V --from-file K=PATH` (each repeatable; every
 * set is a new version), `get` and `list` (metadata: key names, version, who and when — the API
 * never returns a value, so neither can the CLI), `delete`, and `rotate-key` (every data key
 * re-wrapped under a new key-encryption key). A value given on the command line or read from a
 * file is sent once and never printed; errors name the key, never the value.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { z } from 'zod';
import type { SecretBody } from '../api/secrets-routes.js';
import { call } from './client.js';
import { usageError } from './exit-codes.js';
import { type OutputFormat, outputFormat, printDocument, printTable } from './output.js';
import { action } from './run-action.js';

/** What the API answers for a secret (its metadata; never a value). */
type SecretView = z.infer<typeof SecretBody>;

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

const path = (environment: string, name?: string): string =>
  `/api/v1/environments/${encodeURIComponent(environment)}/secrets${name === undefined ? '' : `/${encodeURIComponent(name)}`}`;

/** `K=V` pairs → data; a key given twice is refused (by name only). */
function dataOf(literals: readonly string[], files: readonly string[]): Record<string, string> {
  const data: Record<string, string> = {};
  const put = (option: string, pair: string, valueOf: (rest: string) => string): void => {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw usageError(`${option}: expected KEY=${option === '--from-file' ? 'PATH' : 'VALUE'}`);
    const key = pair.slice(0, eq);
    if (key in data) throw usageError(`${option}: key ${key} is given twice`);
    data[key] = valueOf(pair.slice(eq + 1));
  };
  for (const pair of literals) put('--from-literal', pair, (v) => v);
  for (const pair of files)
    put('--from-file', pair, (file) => {
      try {
        return readFileSync(file, 'utf8');
      } catch (e) {
        throw usageError(`--from-file: cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`);
      }
    });
  if (Object.keys(data).length === 0)
    throw usageError('give at least one --from-literal KEY=VALUE or --from-file KEY=PATH');
  return data;
}

function print(s: SecretView, format: OutputFormat): void {
  if (format !== 'table') return printDocument(s, format);
  process.stdout.write(
    `${s.environment}/${s.name} version ${s.currentVersion}\n  keys: ${s.keys.join(', ')}\n  created ${s.createdAt} by ${s.createdBy}; updated ${s.updatedAt} by ${s.updatedBy}\n`,
  );
}

/** Registers `wharf secret`. */
export function registerSecret(program: Command): void {
  const secret = program
    .command('secret')
    .description('Encrypted secrets that deployments read as environment variables');
  secret
    .command('set <name>')
    .description('Store a new version of a secret (values are never printed back)')
    .requiredOption('-e, --environment <env>', 'environment')
    .option('--from-literal <KEY=VALUE>', 'an item (repeatable)', collect, [])
    .option('--from-file <KEY=PATH>', "an item read from a file's content (repeatable)", collect, [])
    .option('-o, --output <format>', 'table, json or yaml', outputFormat, 'table')
    .action(
      action(
        async (
          name: string,
          f: { environment: string; fromLiteral: string[]; fromFile: string[]; output: OutputFormat },
        ) => {
          const data = dataOf(f.fromLiteral, f.fromFile);
          print(await call<SecretView>(path(f.environment, name), { method: 'PUT', json: { data } }), f.output);
        },
      ),
    );
  secret
    .command('get <name>')
    .description('A secret: its keys, version, who and when (never the values)')
    .requiredOption('-e, --environment <env>', 'environment')
    .option('-o, --output <format>', 'table, json or yaml', outputFormat, 'table')
    .action(
      action(async (name: string, f: { environment: string; output: OutputFormat }) => {
        print(await call<SecretView>(path(f.environment, name)), f.output);
      }),
    );
  secret
    .command('list')
    .description('The secrets of an environment')
    .requiredOption('-e, --environment <env>', 'environment')
    .option('-o, --output <format>', 'table, json or yaml', outputFormat, 'table')
    .action(
      action(async (f: { environment: string; output: OutputFormat }) => {
        const items: SecretView[] = [];
        let next: string | undefined;
        do {
          const page = await call<{ items: SecretView[]; continue?: string }>(path(f.environment), {
            query: { limit: 500, continue: next },
          });
          items.push(...page.items);
          next = page.continue;
        } while (next !== undefined);
        if (f.output !== 'table') return printDocument({ items }, f.output);
        printTable(
          ['NAME', 'VERSION', 'KEYS', 'UPDATED', 'BY'],
          items.map((s) => [s.name, String(s.currentVersion), s.keys.join(','), s.updatedAt, s.updatedBy]),
        );
      }),
    );
  secret
    .command('delete <name>')
    .description('Delete a secret and every version of it')
    .requiredOption('-e, --environment <env>', 'environment')
    .action(
      action(async (name: string, f: { environment: string }) => {
        await call(path(f.environment, name), { method: 'DELETE' });
        process.stdout.write(`deleted secret ${f.environment}/${name}\n`);
      }),
    );
  secret
    .command('rotate-key')
    .description('Re-wrap every data key under a new key-encryption key (key file), or under WHARF_SECRET_KEY')
    .action(
      action(async () => {
        const r = await call<{ kekId: string; rewrapped: number }>('/api/v1/secrets/rotate-key', { method: 'POST' });
        process.stdout.write(`re-wrapped ${r.rewrapped} data key(s); key ${r.kekId} is current\n`);
      }),
    );
}
