/** `wharf app push | list | versions`: application bundles (code that application and worker deployments run). */
import { createReadStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { packBundle } from './app-bundle.js';
import { call } from './client.js';
import { type OutputFormat, outputFormat, printDocument, printTable } from './output.js';
import { action } from './run-action.js';

interface BundleVersionResponse {
  bundle: string;
  version: string;
  artifact: { digest: string; size: number };
  files: number;
  createdAt: string;
}

/** Registers `app` and its subcommands. */
export function registerApp(program: Command): void {
  const app = program.command('app').description('Push and inspect application bundles');

  app
    .command('push <name> <dir>')
    .description('Upload the folder (without .git and what .wharfignore lists) as a new, immutable bundle version')
    .requiredOption('--version <semver>', 'the version, e.g. 1.2.0')
    .option('--label <key=value...>', 'labels for the version')
    .action(
      action(async (name: string, dir: string, flags: { version: string; label?: string[] }) => {
        if (!(await stat(dir).catch(() => undefined))?.isDirectory()) throw new Error(`${dir}: not a folder`);
        const temp = await mkdtemp(join(tmpdir(), 'wharf-bundle-'));
        try {
          const file = join(temp, `${name}.tar.gz`);
          const files = await packBundle(dir, file);
          const labels = Object.fromEntries((flags.label ?? []).map((l) => l.split('=', 2) as [string, string]));
          const version = await call<BundleVersionResponse>(`/api/v1/bundles/${encodeURIComponent(name)}/versions`, {
            method: 'POST',
            body: createReadStream(file),
            query: { version: flags.version, labels: Object.keys(labels).length ? JSON.stringify(labels) : undefined },
          });
          process.stdout.write(
            `pushed ${version.bundle} ${version.version} (${version.artifact.digest}, ${files} files, ${version.artifact.size} bytes)\n`,
          );
        } finally {
          await rm(temp, { recursive: true, force: true });
        }
      }),
    );

  app
    .command('list')
    .description('List bundles and their latest versions')
    .option('-o, --output <format>', 'table, json or yaml', outputFormat, 'table' as OutputFormat)
    .action(
      action(async (flags: { output: OutputFormat }) => {
        const { items } = await call<{ items: { name: string; versions: number; latestVersion: string }[] }>(
          '/api/v1/bundles',
        );
        if (flags.output !== 'table') return printDocument(items, flags.output);
        printTable(
          ['NAME', 'LATEST', 'VERSIONS'],
          items.map((b) => [b.name, b.latestVersion, String(b.versions)]),
        );
      }),
    );

  app
    .command('versions <name>')
    .description("Show a bundle's versions with their digests")
    .option('-o, --output <format>', 'table, json or yaml', outputFormat, 'table' as OutputFormat)
    .action(
      action(async (name: string, flags: { output: OutputFormat }) => {
        const { items } = await call<{ items: BundleVersionResponse[] }>(
          `/api/v1/bundles/${encodeURIComponent(name)}/versions`,
        );
        if (flags.output !== 'table') return printDocument(items, flags.output);
        printTable(
          ['VERSION', 'DIGEST', 'FILES', 'SIZE', 'CREATED'],
          items.map((v) => [
            v.version,
            v.artifact.digest.slice(0, 19),
            String(v.files),
            String(v.artifact.size),
            v.createdAt,
          ]),
        );
      }),
    );
}
