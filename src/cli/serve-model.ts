/** `wharf serve-model`: run one model server in the foreground until SIGTERM/SIGINT. */
import type { Command } from 'commander';
import { OIP_MODELS_PREFIX } from '../protocol/oip-paths.js';
import { ModelServer, type ModelServerOptions } from '../serving/model-server.js';
import { decimal, integer } from './options.js';

interface Flags {
  model: string;
  name: string;
  version?: string;
  host: string;
  port: number;
  batching: boolean;
  maxBatchSize?: number;
  maxBatchDelayUs?: number;
  maxBodyBytes?: number;
  gracePeriod: number;
  intraOpThreads?: number;
  threads?: number;
  maxConnections?: number;
  injectLatencyMs?: number;
  injectErrorRate?: number;
  injectFaultFile?: string;
}

/** Registers the command on the program. */
export function registerServeModel(program: Command): void {
  program
    .command('serve-model')
    .description('Serve one ONNX model with the Open Inference Protocol (KServe v2) REST API')
    .requiredOption('--model <file>', 'the .onnx model file')
    .requiredOption('--name <name>', `model name used in ${OIP_MODELS_PREFIX}<name>`)
    .option('--version <version>', 'model version reported and accepted in /versions/<v>', '1')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--port <port>', 'port to listen on (0 picks a free one)', integer(0, 65535), 8000)
    .option('--no-batching', 'run every request on its own (adaptive batching is on by default)')
    .option('--max-batch-size <rows>', 'most rows in one batched run (default 64)', integer(1, 1_000_000))
    .option(
      '--max-batch-delay-us <us>',
      'how long to hold a batch under load to let it fill (default 0)',
      integer(0, 10_000_000),
    )
    .option('--max-body-bytes <bytes>', 'largest request body (default 16 MiB)', integer(1, 2 ** 31 - 1))
    .option('--grace-period <seconds>', 'how long shutdown waits for in-flight requests', decimal(0, 86_400), 30)
    .option('--intra-op-threads <n>', 'ONNX Runtime threads per run (default 1)', integer(1, 1024))
    .option(
      '--threads <n>',
      'cap on ONNX Runtime threads, e.g. from a cpu limit (the local runtime sets it)',
      integer(1, 1024),
    )
    .option(
      '--max-connections <n>',
      'most client connections open at once; beyond, a new one is answered 503 (default 4096)',
      integer(1, 1_000_000),
    )
    .option('--inject-latency-ms <ms>', 'TEST ONLY: add latency to every run', integer(0, 600_000))
    .option('--inject-error-rate <fraction>', 'TEST ONLY: fail this fraction of runs with a 500', decimal(0, 1))
    .option(
      '--inject-fault-file <path>',
      'TEST ONLY: fail every run while this file exists ({replica} = $WHARF_REPLICA)',
    )
    .action(async (flags: Flags) => {
      await serve({
        modelPath: flags.model,
        name: flags.name,
        version: flags.version,
        host: flags.host,
        port: flags.port,
        batching: flags.batching,
        maxBatchSize: flags.maxBatchSize,
        maxBatchDelayUs: flags.maxBatchDelayUs,
        maxBodyBytes: flags.maxBodyBytes,
        gracePeriodMs: flags.gracePeriod * 1000,
        intraOpThreads: flags.intraOpThreads,
        maxThreads: flags.threads,
        connections: { maxConnections: flags.maxConnections },
        faults: {
          latencyMs: flags.injectLatencyMs,
          errorRate: flags.injectErrorRate,
          ...(flags.injectFaultFile === undefined
            ? {}
            : {
                failWhileFileExists: flags.injectFaultFile.replaceAll(
                  '{replica}',
                  process.env.WHARF_REPLICA ?? 'replica',
                ),
              }),
        },
      });
    });
}

/** Starts a server, prints its URL, and shuts down gracefully on the first SIGTERM/SIGINT. */
export async function serve(options: ModelServerOptions, banner = (s: ModelServer) => defaultBanner(s)): Promise<void> {
  const server = new ModelServer(options);
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) {
      process.stderr.write(`wharf serve-model: second ${signal}, exiting now\n`);
      process.exit(1);
    }
    stopping = true;
    void server.shutdown().then((drained) => {
      if (!drained) process.stderr.write('wharf serve-model: grace period over with requests still in flight\n');
      process.exit(drained ? 0 : 1);
    });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  try {
    await server.start();
  } catch (err) {
    process.stderr.write(`wharf serve-model: ${(err as Error).message}\n`);
    process.exit(1);
  }
  process.stdout.write(`${banner(server)}\n`);
}

function defaultBanner(server: ModelServer): string {
  const m = server.loadedModel!;
  return `wharf serve-model: serving ${m.name} ${m.version} at ${server.url} (batching ${server.batching ? 'on' : 'off'})`;
}
