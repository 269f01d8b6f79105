/** `wharf logs` (replica logs, optionally followed) and `wharf predict` (one call through the gateway). */
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import type { Command } from 'commander';
import type { DeploymentResponse } from '../api/response-schemas.js';
import { modelInferPath, modelPath } from '../protocol/oip-paths.js';
import { call, request } from './client.js';
import { usageError } from './exit-codes.js';
import { readInputText } from './input-file.js';
import { integer } from './options.js';
import { action } from './run-action.js';

/** Registers `logs` and `predict`. */
export function registerLogsAndPredict(program: Command): void {
  program
    .command('logs <name>')
    .description("Print the logs of a deployment's replicas")
    .requiredOption('-e, --environment <env>', 'environment')
    .option('-f, --follow', 'keep streaming new lines')
    .option('--replica <id>', 'only this replica')
    .option('--tail <n>', 'only the last N lines', integer(0, 1_000_000))
    .action(
      action(async (name: string, f: { environment: string; follow?: boolean; replica?: string; tail?: number }) => {
        const res = await request(
          `/api/v1/environments/${encodeURIComponent(f.environment)}/deployments/${encodeURIComponent(name)}/logs`,
          {
            query: { follow: f.follow ? 'true' : undefined, replica: f.replica, tail: f.tail },
          },
        );
        const lines = createInterface({ input: Readable.fromWeb(res.body as never) });
        for await (const line of lines) {
          if (!line) continue;
          const l = JSON.parse(line) as { replica: string; text: string; stream: string };
          (l.stream === 'stderr' ? process.stderr : process.stdout).write(`[${l.replica}] ${l.text}\n`);
        }
      }),
    );

  program
    .command('predict <name>')
    .description('Call a deployment through the gateway with the Open Inference Protocol')
    .requiredOption('-e, --environment <env>', 'environment')
    .option('--data <json>', 'a full inference request, or rows like [[0.1, 0.2, ...]] for the first input')
    .option('--file <path>', 'read the --data JSON from a file')
    .action(
      action(async (name: string, f: { environment: string; data?: string; file?: string }) => {
        const text = f.file ? await readInputText(f.file) : f.data;
        if (!text) throw usageError('give --data JSON or --file PATH');
        let data: unknown;
        try {
          data = JSON.parse(text);
        } catch (err) {
          throw usageError(`--data is not valid JSON: ${(err as Error).message}`);
        }
        const d = await call<DeploymentResponse>(
          `/api/v1/environments/${encodeURIComponent(f.environment)}/deployments/${encodeURIComponent(name)}`,
        );
        const base = d.endpoints.external;
        if (!base) throw new Error(`deployment ${name} has no external endpoint yet (phase ${d.status.phase})`);
        const body = isInferenceRequest(data) ? data : await rowsToRequest(`${base}${modelPath(name)}`, data);
        const res = await fetch(`${base}${modelInferPath(name)}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
        const answer = await res.text();
        if (!res.ok) throw new Error(`${res.status}: ${answer}`);
        process.stdout.write(`${answer}\n`);
      }),
    );
}

function isInferenceRequest(v: unknown): boolean {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && 'inputs' in v;
}

/** Wraps plain rows as the model's first input, using its metadata for name, datatype and shape. */
async function rowsToRequest(metadataUrl: string, rows: unknown): Promise<unknown> {
  if (!Array.isArray(rows)) throw usageError('--data must be an inference request object or an array of rows');
  const res = await fetch(metadataUrl);
  if (!res.ok) throw new Error(`cannot read the model's metadata (${res.status}): ${await res.text()}`);
  const meta = (await res.json()) as { inputs: { name: string; datatype: string; shape: number[] }[] };
  const input = meta.inputs[0]!;
  const matrix = Array.isArray(rows[0]) ? (rows as unknown[][]) : [rows];
  return {
    inputs: [
      {
        name: input.name,
        datatype: input.datatype,
        shape: [matrix.length, ...input.shape.slice(1).map((d) => (d === -1 ? (matrix[0]?.length ?? 0) : d))],
        data: matrix,
      },
    ],
  };
}
