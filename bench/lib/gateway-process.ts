/**
 * The Wharf gateway as the gateway benchmark runs it: its own process (so it gets a core of its
 * own, like nginx's single worker), the production `GatewayServer` with its defaults, and one
 * static route table that sends `/bench/readmission/...` to one model-server replica. No control
 * plane: the benchmark measures the data path, not table distribution.
 *
 * Usage: node dist/bench/lib/gateway-process.js PORT BACKEND_URL
 *        node dist/bench/lib/gateway-process.js PORT --table TABLE.json   (any route table, e.g. with a mirror)
 * Prints `listening on http://127.0.0.1:PORT` once it has a table (so it is ready when the harness
 * sees the line); stops gracefully on SIGTERM or SIGINT.
 */
import { readFile } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import { GatewayServer } from '../../src/gateway/gateway-server.js';
import type { RouteTable } from '../../src/protocol/route-table.js';

/** The route the benchmark calls: `/<environment>/<deployment>/v2/models/<model>/infer`. */
export const BENCH_ROUTE = { environment: 'bench', deployment: 'readmission', model: 'readmission' } as const;

/** A one-route, one-revision, one-backend table pointing at `backendUrl`. */
export function benchRouteTable(backendUrl: string): RouteTable {
  return {
    version: 1,
    routes: [
      {
        environment: BENCH_ROUTE.environment,
        deployment: BENCH_ROUTE.deployment,
        targets: [
          {
            revision: 1,
            weight: 100,
            model: { name: BENCH_ROUTE.model, version: '1' },
            backends: [{ id: 'r0', url: backendUrl }],
          },
        ],
      },
    ],
  };
}

async function main(): Promise<void> {
  const [portArg = '0', backendUrl, tableFile] = process.argv.slice(2);
  if (!backendUrl || (backendUrl === '--table' && !tableFile))
    throw new Error('usage: gateway-process.js PORT BACKEND_URL | PORT --table FILE');
  const table =
    backendUrl === '--table'
      ? (JSON.parse(await readFile(tableFile!, 'utf8')) as RouteTable)
      : benchRouteTable(backendUrl);
  // Short grace: the harness stops the gateway only after the load generator has finished.
  const gateway = new GatewayServer({ host: '127.0.0.1', port: Number(portArg), shutdownGraceMs: 2_000 });
  await gateway.start();
  gateway.setTable(table);
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => void gateway.stop().finally(() => process.exit(0)));
  }
  process.stdout.write(`listening on ${gateway.url}\n`);
}

// Only when run as a script: gateway.ts imports BENCH_ROUTE from here without starting a gateway.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    process.stderr.write(`gateway-process: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
