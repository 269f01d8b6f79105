/** `wharf model push | list | get`: the model registry. */
import { createReadStream } from 'node:fs';
import { basename } from 'node:path';
import type { Command } from 'commander';
import type { ModelPageResponse, ModelVersionListResponse, ModelVersionResponse } from '../api/response-schemas.js';
import { call } from './client.js';
import { inputFileSize } from './input-file.js';
import { type OutputFormat, outputFormat, printDocument, printTable } from './output.js';
import { action } from './run-action.js';

/** Registers `model` and its subcommands. */
export function registerModel(program: Command): void {
  const model = program.command('model').description('Push and inspect model versions in the registry');

  model
    .command('push <name> <file>')
    .description('Upload an ONNX model file as a new, immutable version')
    .requiredOption('--version <semver>', 'the version, e.g. 1.0.0')
    .option('--label <key=value...>', 'labels for the version')
    .option('--metric <name=number...>', 'evaluation metrics of the version, e.g. auc=0.91')
    .action(
      action(async (name: string, file: string, flags: { version: string; label?: string[]; metric?: string[] }) => {
        const size = await inputFileSize(file);
        const labels = Object.fromEntries((flags.label ?? []).map((l) => l.split('=', 2) as [string, string]));
        const metrics = Object.fromEntries((flags.metric ?? []).map(parseMetricFlag));
        const version = await call<ModelVersionResponse>(`/api/v1/models/${encodeURIComponent(name)}/versions`, {
          method: 'POST',
          body: createReadStream(file),
          query: {
            version: flags.version,
            filename: basename(file),
            labels: Object.keys(labels).length ? JSON.stringify(labels) : undefined,
            metrics: Object.keys(metrics).length ? JSON.stringify(metrics) : undefined,
          },
        });
        process.stdout.write(
          `pushed ${version.model} ${version.version} (${version.artifact.digest}, ${size} bytes)\n`,
        );
      }),
    );

  model
    .command('list')
    .description('List models and their latest versions')
    .option('-o, --output <format>', 'table, json or yaml', outputFormat, 'table' as OutputFormat)
    .action(
      action(async (flags: { output: OutputFormat }) => {
        const { items } = await call<ModelPageResponse>('/api/v1/models');
        if (flags.output !== 'table') return printDocument(items, flags.output);
        printTable(
          ['NAME', 'LATEST', 'VERSIONS', 'DESCRIPTION'],
          items.map((m) => [m.name, m.latestVersion ?? '-', String(m.versions), m.description]),
        );
      }),
    );

  model
    .command('get <name>')
    .description("Show a model's versions with their digests and signatures")
    .option('-o, --output <format>', 'table, json or yaml', outputFormat, 'table' as OutputFormat)
    .action(
      action(async (name: string, flags: { output: OutputFormat }) => {
        const { items } = await call<ModelVersionListResponse>(`/api/v1/models/${encodeURIComponent(name)}/versions`);
        if (flags.output !== 'table') return printDocument(items, flags.output);
        const sig = (v: ModelVersionResponse): string =>
          v.signature.inputs.map((t) => `${t.name}:${t.datatype}[${t.shape.join(',')}]`).join(' ');
        printTable(
          ['VERSION', 'DIGEST', 'SIZE', 'INPUTS', 'CREATED'],
          items.map((v) => [v.version, v.artifact.digest.slice(0, 19), String(v.artifact.size), sig(v), v.createdAt]),
        );
      }),
    );
}

/** `auc=0.91` → `['auc', 0.91]`; a value that is not a number is sent as is for the API to name. */
function parseMetricFlag(flag: string): [string, number | string] {
  const at = flag.indexOf('=');
  const name = at < 0 ? flag : flag.slice(0, at);
  const text = at < 0 ? '' : flag.slice(at + 1).trim();
  const value = Number(text);
  return [name, text !== '' && Number.isFinite(value) ? value : text];
}
